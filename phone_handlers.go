package authkit

import (
	"encoding/json"
	"net/http"
)

// The REST handlers of the phone flows (phone.go). The client sends phone
// numbers and codes in the query, except to the routes whose JSON body
// names the number (signup-phone, signin-phone, change-phone).

func (k *Kit) handleSignUpPhone(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Phone          string          `json:"phone"`
		Password       string          `json:"password"`
		NameOrUserData json.RawMessage `json:"nameOrUserData"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.signUpWithPhoneData(r.Context(), req.Phone, req.Password, req.NameOrUserData)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleSignInPhone(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Phone    string `json:"phone"`
		Password string `json:"password"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.SignInWithPhone(r.Context(), req.Phone, req.Password)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleVerifyPhone(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ans, err := k.VerifyPhone(r.Context(), q.Get("phone"), q.Get("code"))
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleResendCode(w http.ResponseWriter, r *http.Request) error {
	if err := k.ResendVerificationCode(r.Context(), r.URL.Query().Get("phone")); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleSendSignInCode(w http.ResponseWriter, r *http.Request) error {
	if err := k.SendSignInCode(r.Context(), r.URL.Query().Get("phone")); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleSignInCode(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ans, err := k.SignInWithCode(r.Context(), q.Get("phone"), q.Get("code"))
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleSendResetCode(w http.ResponseWriter, r *http.Request) error {
	if err := k.SendResetCode(r.Context(), r.URL.Query().Get("phone")); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleResetPasswordCode(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		NewPassword string `json:"newPassword"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	q := r.URL.Query()
	if err := k.ResetPasswordWithCode(r.Context(), q.Get("phone"), q.Get("code"), req.NewPassword); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleChangePhone(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		CurrentPassword string `json:"currentPassword"`
		NewPhone        string `json:"newPhone"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	u, err := k.ChangePhone(r.Context(), req.CurrentPassword, req.NewPhone)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k.wire(u))
	return nil
}
