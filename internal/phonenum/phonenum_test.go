package phonenum

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

// A panic inside the phone parser is a bad number, never a crashed
// request.
func TestParserPanicIsABadNumber(t *testing.T) {
	_, ok := normalize("+15555555555", func(string, string) (*phonenumbers.PhoneNumber, error) { panic("index out of range") })
	require.False(t, ok)
}

func TestRegion(t *testing.T) {
	require.Equal(t, "GB", Region("+442079460958"))
	require.Equal(t, "US", Region("+15555555555"), "a number no region claims is its country code's main region")
	require.Equal(t, "JM", Region("+18765550123"), "+1 876 is Jamaica, not the US")
	require.True(t, KnownRegion("GB"))
	require.False(t, KnownRegion("XX"))
}
