// Package hibp checks passwords against Have I Been Pwned's Pwned Passwords,
// the passwords of past data breaches, as NIST SP 800-63B asks of a
// service that lets users choose theirs. A [Checker] is an
// [authkit.PasswordChecker]:
//
//	kit, err := authkit.New(authkit.Config{PasswordChecker: hibp.New(), /* … */})
//
// It uses the range API's k-anonymity: only the first 5 hex digits of the
// password's SHA-1 leave the server, and the answer (padded, so that its
// size tells nothing either) lists every breached hash with that prefix;
// the match is made here.
package hibp

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.PasswordChecker = (*Checker)(nil)

// DefaultBaseURL is the range API of Pwned Passwords.
const DefaultBaseURL = "https://api.pwnedpasswords.com"

// Checker asks the range API whether a password was breached. Its fields
// may be changed before first use.
type Checker struct {
	// Client makes the calls. New gives one with a 5-second timeout.
	Client *http.Client
	// BaseURL is the API's, without a trailing slash: DefaultBaseURL, or a
	// mirror (or a fake, in tests).
	BaseURL string
	// MinCount is how many times a password must have been seen in
	// breaches to be refused. New sets 1: any breach.
	MinCount int
}

// New returns a Checker of the public API.
func New() *Checker {
	return &Checker{Client: &http.Client{Timeout: 5 * time.Second}, BaseURL: DefaultBaseURL, MinCount: 1}
}

// maxAnswer bounds what is read of an answer: a real one is about 40 KiB
// (some 800 padded lines).
const maxAnswer = 1 << 20

// Breached implements [authkit.PasswordChecker]. It sends the first 5 hex
// digits of pw's SHA-1 and looks for the rest in the answer.
func (c *Checker) Breached(ctx context.Context, pw string) (bool, error) {
	sum := sha1.Sum([]byte(pw))
	digest := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := digest[:5], digest[5:]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/range/"+prefix, nil)
	if err != nil {
		return false, fmt.Errorf("hibp: %w", err)
	}
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", "authkit")
	resp, err := c.Client.Do(req)
	if err != nil {
		return false, fmt.Errorf("hibp: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return false, fmt.Errorf("hibp: the range API answered %d", resp.StatusCode)
	}
	lines := bufio.NewScanner(io.LimitReader(resp.Body, maxAnswer))
	for lines.Scan() {
		s, n, ok := strings.Cut(strings.TrimSpace(lines.Text()), ":")
		if !ok || !strings.EqualFold(s, suffix) {
			continue
		}
		count, err := strconv.Atoi(n)
		if err != nil {
			return false, fmt.Errorf("hibp: a count that is no number in the answer")
		}
		return count >= max(c.MinCount, 1), nil // padding lines count 0
	}
	if err := lines.Err(); err != nil {
		return false, fmt.Errorf("hibp: reading the answer: %w", err)
	}
	return false, nil
}
