package authkit

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/phonenum"
)

// Each costly kind the parser tells apart has a constant a host can name
// in Config.CostlyNumbers, and each constant is such a kind.
func TestNumberKindsAreThePhoneParsers(t *testing.T) {
	t.Parallel()
	var kinds []phonenum.Kind
	for _, k := range []NumberKind{NumberPremiumRate, NumberSharedCost, NumberUAN, NumberVoicemail, NumberSatellite, NumberShortCode} {
		kinds = append(kinds, phonenum.Kind(k))
	}
	require.Equal(t, phonenum.AllKinds(), kinds)
}
