package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/authkit/authkit"
)

// Every code of the README's error table has a sentence in the page, so a
// person reads what to do, not a code.
func TestPageExplainsEveryErrorCode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "\n## Error codes\n")
	if !ok {
		t.Fatal(`README.md has no "## Error codes" section`)
	}
	table, _, _ = strings.Cut(table, "\n## ")
	codes := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(table, -1)
	if len(codes) < 30 {
		t.Fatalf("found %d codes in the README's table; has its layout changed?", len(codes))
	}

	_, js, ok := strings.Cut(string(page), "const errorText = {\n")
	if !ok {
		t.Fatal("the page has no errorText map")
	}
	js, _, _ = strings.Cut(js, "\n};")
	explained := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z_]+): `).FindAllStringSubmatch(js, -1) {
		explained[m[1]] = true
	}
	for _, c := range codes {
		if !explained[c[1]] {
			t.Errorf("the page has no sentence for the error code %s", c[1])
		}
	}
}

func TestPageWith(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    pageSettings
		want []string
		not  []string
	}{
		{"nothing", pageSettings{}, []string{`data-phone="off"`, `data-outbox="off"`, `<div id="providers" hidden>`}, []string{`href="/_auth/`}},
		{"dev with phone", pageSettings{phone: true, outbox: true}, []string{`data-phone="on"`, `data-outbox="on"`}, nil},
		{"github", pageSettings{providers: map[string]authkit.OAuthProvider{"github": {}}},
			[]string{`<div id="providers">`, `<a class="button" href="/_auth/github">Sign in with GitHub</a>`}, []string{`href="/_auth/google"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := string(pageWith(tc.s))
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %s", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("the page has %s", n)
				}
			}
		})
	}
}
