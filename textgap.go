package authkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// The resend gap (SECURITY 11, 69): at most one code texted to a number per
// CodeResendGap, on every instance that shares the store, and over a
// sliding gap: a text at 12:00:59.9 holds back one at 12:01:00.1 as it
// holds back one at 12:00:30.
//
// Time is cut into windows of one gap, counted from the Unix epoch. A text
// at t leaves a mark in the store on its own window and on the next, the
// two its gap reaches into; each mark is a token that CreateToken writes
// once, which records t. A later text within the gap of t falls in one of
// those two windows, so its first mark is one of t's: it finds the mark
// taken, reads when t was, and stays back. Two texts raced on one number
// meet the same way: of the writers of one mark exactly one succeeds
// (however many race, on every store), and the others read its time. A
// text at least a gap after t passes a mark of t's by reading it, and
// writes the other.
//
// Marks are taken in window order and a text stops at the first mark it
// cannot pass, giving back the marks it took, so that two racers never
// hold each other back both. A text that a cap then holds back gives its
// marks back too: a request that texts nothing keeps no one else waiting.
// The gap holds back texts while the code sent before still works: once
// that code is spent, its text gives its marks back, and the number may
// get the next code at once.
//
// Marks hold no secret and are not keyed with Config.Secret (instances in
// the middle of a rotation must find each other's), only a number and a
// window, hashed; they live two windows and Cleanup deletes them.

// textGapHash names the mark of phone's window w.
func textGapHash(phone string, w int64) string {
	sum := sha256.Sum256([]byte("authkit text gap\x00" + phone + "\x00" + strconv.FormatInt(w, 10)))
	return hex.EncodeToString(sum[:])
}

// claimTextGap takes the resend gap of phone for a text at now. It reports
// false when a text went to phone, from this instance or another, less
// than CodeResendGap before or after now; else the caller may text, and
// calls release if it then texts nothing.
func (k *Kit) claimTextGap(ctx context.Context, phone string, now time.Time) (release func(), ok bool, err error) {
	gap := int64(k.phone.resendGap)
	w := now.UnixNano() / gap
	var taken []string
	release = func() {
		// Given back even when the request's context is done: a mark left
		// behind holds the number back for a gap it did not use.
		ctx := context.WithoutCancel(ctx)
		for _, hash := range taken {
			if _, err := k.store.ConsumeToken(ctx, PurposeTextGap, hash, now); err != nil && !errors.Is(err, ErrNotFound) {
				k.log.WarnContext(ctx, "authkit: giving back a resend gap", "err", err)
			}
		}
	}
	for _, x := range []int64{w, w + 1} {
		mark := Token{
			Hash: textGapHash(phone, x), Purpose: PurposeTextGap,
			// A mark outlives its window by one more: an instance whose
			// clock lags a little still finds it.
			CreatedAt: now, ExpiresAt: time.Unix(0, (x+2)*gap).UTC(),
		}
		mine, free, err := k.markTextGap(ctx, mark)
		if mine {
			taken = append(taken, mark.Hash)
		}
		if err != nil || !free {
			release()
			return nil, false, err
		}
	}
	return release, true, nil
}

// markTextGap writes mark, or reads the one written before it. It reports
// whether the mark is now the caller's, and whether the text may go as far
// as this mark is concerned: it is the caller's, or another's from at
// least a gap away.
func (k *Kit) markTextGap(ctx context.Context, mark Token) (mine, free bool, err error) {
	// A mark found taken and then gone was given back by a request that
	// texted nothing: write it again. Past a few turns of that, stay back.
	for range 3 {
		err := k.store.CreateToken(ctx, mark)
		if err == nil {
			return true, true, nil
		}
		if !errors.Is(err, ErrDuplicate) {
			return false, false, err
		}
		other, err := k.store.TokenByHash(ctx, mark.Hash, mark.CreatedAt)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return false, false, err
		}
		apart := mark.CreatedAt.Sub(other.CreatedAt).Abs()
		return false, other.Purpose == PurposeTextGap && apart >= k.phone.resendGap, nil
	}
	return false, false, nil
}

// giveBackTextGap gives back the marks that the text of the code t took,
// once t is spent. The marks of a text carry its time, which is t's; marks
// of another time (another text's, or none: t was stored untexted) are
// left alone. A mark that cannot be given back only holds the number back
// for the rest of its gap, so a failure is logged and goes no further.
func (k *Kit) giveBackTextGap(ctx context.Context, t Token, now time.Time) {
	w := t.CreatedAt.UnixNano() / int64(k.phone.resendGap)
	for _, x := range []int64{w, w + 1} {
		hash := textGapHash(t.Subject, x)
		mark, err := k.store.TokenByHash(ctx, hash, now)
		if err == nil && mark.Purpose == PurposeTextGap && mark.CreatedAt.Equal(t.CreatedAt) {
			_, err = k.store.ConsumeToken(ctx, PurposeTextGap, hash, now)
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			k.log.WarnContext(ctx, "authkit: giving back a resend gap", "err", err)
		}
	}
}
