package authkit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIPKeyGroupsIPv6By64(t *testing.T) {
	t.Parallel()
	require.Equal(t, "192.0.2.1", ipKey("192.0.2.1"))
	require.Equal(t, ipKey("2001:db8:1:2::1"), ipKey("2001:db8:1:2:ffff::9"), "one /64 is one client")
	require.NotEqual(t, ipKey("2001:db8:1:2::1"), ipKey("2001:db8:1:3::1"))
	require.LessOrEqual(t, len(ipKey(string(make([]byte, 1000)))), 100)
}

func TestRetrySecondsRoundUp(t *testing.T) {
	t.Parallel()
	for wait, want := range map[time.Duration]int64{
		0: 1, time.Millisecond: 1, time.Second: 1, time.Second + time.Millisecond: 2, 15 * time.Minute: 900, -time.Second: 1,
	} {
		require.Equal(t, want, retrySeconds(wait), "%v", wait)
	}
}
