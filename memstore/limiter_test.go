package memstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/authkit/authkit/memstore"
)

// BenchmarkHit counts hits on 1,000 keys in turn (serial) and on one key
// from every P at once (parallel: all wait on one lock).
func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	b.Run("serial", func(b *testing.B) {
		s := memstore.New()
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = "ip:signin:192.0.2." + strconv.Itoa(i)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, _, err := s.Hit(ctx, keys[i%len(keys)], time.Minute, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := memstore.New()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.Hit(ctx, "ip:signin:192.0.2.1", time.Minute, now); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
