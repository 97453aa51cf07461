package sms_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sms"
)

// The examples without output would reach the provider: they compile, but
// do not run.

func ExampleTwilio() {
	sender := &sms.Twilio{
		AccountSID: os.Getenv("TWILIO_ACCOUNT_SID"),
		AuthToken:  os.Getenv("TWILIO_AUTH_TOKEN"),
		From:       "+15017122661", // or MessagingServiceSID: "MG…"
	}
	if err := sender.Check(); err != nil {
		log.Fatal(err)
	}
	err := sender.SendSMS(context.Background(), authkit.SMS{To: "+15558675310", Body: "Your code is 123456"})
	if err != nil {
		log.Print(err) // safe to log: no body, number or token in it
	}
}

func ExampleMessageBird() {
	sender := &sms.MessageBird{
		AccessKey:  os.Getenv("MESSAGEBIRD_ACCESS_KEY"),
		Originator: "MyApp", // an alphanumeric sender ID, at most 11 characters
	}
	if err := sender.Check(); err != nil {
		log.Fatal(err)
	}
	_ = sender.SendSMS(context.Background(), authkit.SMS{To: "+31612345678", Body: "Your code is 123456"})
}

func ExampleBird() {
	sender := &sms.Bird{
		AccessKey:   os.Getenv("BIRD_ACCESS_KEY"),
		WorkspaceID: os.Getenv("BIRD_WORKSPACE_ID"), // UUIDs, as Bird's dashboard shows them
		ChannelID:   os.Getenv("BIRD_CHANNEL_ID"),   // the workspace's SMS channel: it decides the sender
	}
	if err := sender.Check(); err != nil {
		log.Fatal(err)
	}
	_ = sender.SendSMS(context.Background(), authkit.SMS{To: "+31612345678", Body: "Your code is 123456"})
}

func ExampleVonage() {
	sender := &sms.Vonage{
		APIKey:    os.Getenv("VONAGE_API_KEY"),
		APISecret: os.Getenv("VONAGE_API_SECRET"),
		From:      "MyApp",
	}
	if err := sender.Check(); err != nil {
		log.Fatal(err)
	}
	_ = sender.SendSMS(context.Background(), authkit.SMS{To: "+447700900000", Body: "Your code is 123456"})
}

// A refusal comes back as an *sms.Error that tells what went wrong without
// the message, the number or the credentials. Here a fake Twilio refuses
// the number.
func ExampleError() {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"code": 21211, "message": "The 'To' number +15005550001 is not a valid phone number.", `+
			`"more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`)
	}))
	defer fake.Close()

	sender := &sms.Twilio{AccountSID: "AC123", AuthToken: "token", From: "+15017122661", BaseURL: fake.URL}
	err := sender.SendSMS(context.Background(), authkit.SMS{To: "+15005550001", Body: "Your code is 123456"})
	fmt.Println(err)

	var e *sms.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.Temporary)
	}
	// Output:
	// sms: twilio: HTTP 400: code 21211: The 'To' number *** is not a valid phone number.
	// 400 21211 false
}
