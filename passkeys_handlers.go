package authkit

import (
	"encoding/json"
	"net/http"
)

// The passkey routes (Config.Passkeys), thin over passkeys.go's methods.

// passkeyRoutes are the passkey routes. While Config.Passkeys is unset
// they answer 403 feature_disabled, as the mfa routes do while MFA is off.
func (k *Kit) passkeyRoutes() map[string]route {
	return map[string]route{
		apiPrefix + "passkeys":                 {http.MethodGet, k.handleListPasskeys, true, false},
		apiPrefix + "passkeys/register/begin":  {http.MethodPost, k.handleBeginPasskeyRegistration, true, false},
		apiPrefix + "passkeys/register/finish": {http.MethodPost, k.handleFinishPasskeyRegistration, true, false},
		apiPrefix + "passkeys/signin/begin":    {http.MethodPost, k.handleBeginPasskeySignIn, false, false},
		apiPrefix + "passkeys/signin/finish":   {http.MethodPost, k.handleFinishPasskeySignIn, false, true},
		apiPrefix + "passkeys/verify/begin":    {http.MethodPost, k.handleBeginPasskeyVerify, false, false},
		apiPrefix + "passkeys/verify/finish":   {http.MethodPost, k.handleVerifyMFAWithPasskey, false, true},
		apiPrefix + "passkeys/confirm/begin":   {http.MethodPost, k.handleBeginPasskeyConfirmation, true, false},
		apiPrefix + "passkeys/step-up":         {http.MethodPost, k.handleStepUpWithPasskey, true, true},
		apiPrefix + "passkeys/rename":          {http.MethodPost, k.handleRenamePasskey, true, false},
		apiPrefix + "passkeys/remove":          {http.MethodPost, k.handleRemovePasskey, true, false},
	}
}

// passkeyFinish is the body of the routes that finish a ceremony: its
// handle and the authenticator's answer (a PublicKeyCredential as JSON).
type passkeyFinish struct {
	Handle     string          `json:"handle"`
	Credential json.RawMessage `json:"credential"`
}

func (k *Kit) handleBeginPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	if err := decodeBody(w, r, &struct{}{}, true); err != nil {
		return err
	}
	c, err := k.BeginPasskeyRegistration(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (k *Kit) handleFinishPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Handle     string          `json:"handle"`
		Credential json.RawMessage `json:"credential"`
		Name       string          `json:"name"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	reg, err := k.FinishPasskeyRegistration(r.Context(), req.Handle, req.Credential, req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reg)
	return nil
}

func (k *Kit) handleBeginPasskeySignIn(w http.ResponseWriter, r *http.Request) error {
	if err := decodeBody(w, r, &struct{}{}, true); err != nil {
		return err
	}
	c, err := k.BeginPasskeySignIn(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// handleFinishPasskeySignIn answers as every route that signs in: the
// {user, session} body, with the carrier.
func (k *Kit) handleFinishPasskeySignIn(w http.ResponseWriter, r *http.Request) error {
	var req passkeyFinish
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.FinishPasskeySignIn(r.Context(), req.Handle, req.Credential)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleBeginPasskeyVerify(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Ticket string `json:"ticket"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	c, err := k.BeginPasskeyVerify(r.Context(), req.Ticket)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (k *Kit) handleVerifyMFAWithPasskey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Ticket     string          `json:"ticket"`
		Handle     string          `json:"handle"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.VerifyMFAWithPasskey(r.Context(), req.Ticket, req.Handle, req.Credential)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleBeginPasskeyConfirmation(w http.ResponseWriter, r *http.Request) error {
	if err := decodeBody(w, r, &struct{}{}, true); err != nil {
		return err
	}
	c, err := k.BeginPasskeyConfirmation(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (k *Kit) handleListPasskeys(w http.ResponseWriter, r *http.Request) error {
	ps, err := k.ListPasskeys(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}

func (k *Kit) handleRenamePasskey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	if err := k.RenamePasskey(r.Context(), req.ID, req.Name); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleRemovePasskey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ID         string          `json:"id"`
		Code       string          `json:"code"`
		Handle     string          `json:"handle"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	if err := k.RemovePasskey(r.Context(), req.ID, PasskeyProof{Code: req.Code, Handle: req.Handle, Credential: req.Credential}); err != nil {
		return err
	}
	return ok(w)
}

// handleStepUpWithPasskey answers as mfa/step-up: the new session of two
// factors, with the carrier.
func (k *Kit) handleStepUpWithPasskey(w http.ResponseWriter, r *http.Request) error {
	var req passkeyFinish
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.StepUpWithPasskey(r.Context(), req.Handle, req.Credential)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}
