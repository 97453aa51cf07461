package storetest_test

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/storetest"
)

// coreOnly is a store that implements the core and nothing else: embedding
// the interface, not the memstore, promotes the core methods alone.
type coreOnly struct{ authkit.Store }

// is reports whether v is a T.
func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}

// record runs storetest.Run on stores from newStore and returns how many
// cases of each group ran, by the group's subtest name, and the cases that
// skipped themselves.
func record(t *testing.T, newStore func() authkit.Store) (ran map[string]int, skipped []string) {
	var mu sync.Mutex
	ran = make(map[string]int)
	storetest.Run(t, func(c *testing.T) authkit.Store {
		// The store Run asks for first, on t itself, is no case's.
		if name, ok := strings.CutPrefix(c.Name(), t.Name()+"/"); ok {
			group, _, _ := strings.Cut(name, "/")
			mu.Lock()
			ran[group]++
			mu.Unlock()
			c.Cleanup(func() {
				if c.Skipped() {
					mu.Lock()
					skipped = append(skipped, name)
					mu.Unlock()
				}
			})
		}
		return newStore()
	})
	return ran, skipped
}

// A store with the core alone passes, every other group skipped.
func TestCoreOnly(t *testing.T) {
	var s authkit.Store = coreOnly{memstore.New()}
	require.False(t, is[authkit.PhoneStore](s), "PhoneStore")
	require.False(t, is[authkit.SessionUserFinder](s), "SessionUserFinder")
	require.False(t, is[authkit.Cleaner](s), "Cleaner")
	require.False(t, is[authkit.UserLister](s), "UserLister")
	require.False(t, is[authkit.Limiter](s), "Limiter")
	require.False(t, is[authkit.Courier](s), "Courier")
	require.False(t, is[authkit.RevocationLog](s), "RevocationLog")
	require.False(t, is[authkit.FactorStore](s), "FactorStore")
	require.False(t, is[authkit.PasskeyStore](s), "PasskeyStore")

	ran, skipped := record(t, func() authkit.Store { return coreOnly{memstore.New()} })
	require.Equal(t, []string{"core"}, slices.Sorted(maps.Keys(ran)), "the groups that ran a case")
	require.Empty(t, skipped, "core cases skipped")
}

// A memstore has every capability: every group runs, and no case skips.
func TestEveryGroup(t *testing.T) {
	ran, skipped := record(t, func() authkit.Store { return memstore.New() })
	require.Equal(t, []string{"cleaner", "core", "courier", "factors", "limiter", "passkeys", "phone", "revocation_log", "session_and_user", "user_lister"}, slices.Sorted(maps.Keys(ran)),
		"the groups that ran a case")
	require.Empty(t, skipped, "cases skipped")
}
