package authkit

import "net/http"

// The second-factor routes (Config.MFA), thin over mfa.go's methods.

// recoveryCodesAnswer is the body that hands out recovery codes, once.
type recoveryCodesAnswer struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

// codeRequest is the body of the routes that take a code.
type codeRequest struct {
	Code string `json:"code"`
}

func (k *Kit) handleEnrolTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := decodeBody(w, r, &struct{}{}, true); err != nil {
		return err
	}
	e, err := k.EnrolTOTP(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (k *Kit) handleConfirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	codes, err := k.ConfirmTOTP(r.Context(), req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, recoveryCodesAnswer{codes})
	return nil
}

func (k *Kit) handleRemoveTOTP(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	if err := k.RemoveTOTP(r.Context(), req.Code); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleRegenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	codes, err := k.RegenerateRecoveryCodes(r.Context(), req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, recoveryCodesAnswer{codes})
	return nil
}

// handleVerifyMFA ends a sign-in that answered mfa_required, as the
// first factor's route would have: the same {user, session} answer, the
// same carrier.
func (k *Kit) handleVerifyMFA(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Ticket string `json:"ticket"`
		Code   string `json:"code"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.VerifyMFA(r.Context(), req.Ticket, req.Code)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleStepUp(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.StepUp(r.Context(), req.Code)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}
