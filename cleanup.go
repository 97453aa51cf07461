package authkit

import (
	"context"
	"errors"
	"time"
)

// ErrNoCleaner is returned by [Kit.Cleanup] when the Store cannot delete in
// bulk (it does not implement [Cleaner]).
var ErrNoCleaner = errors.New("authkit: the Store does not implement authkit.Cleaner")

// Cleanup deletes the sessions and one-time tokens that can no longer be
// used: expired, or (sessions) idle longer than Config.SessionIdleTimeout;
// and, when the Store keeps intents ([Courier]), the messages delivered
// more than a day ago and the dead letters nobody retried in 30 days. It
// reports how many records it deleted. Expired records are refused
// whether or not they were cleaned up; cleaning keeps the tables small.
// Call it now and then (a cron job, or [Kit.RunJanitor]); one call is a few
// indexed DELETEs, fine to run from every instance.
func (k *Kit) Cleanup(ctx context.Context) (int64, error) {
	c, ok := k.raw.(Cleaner)
	if !ok {
		return 0, ErrNoCleaner
	}
	now := k.now()
	n, err := c.DeleteExpired(ctx, now, now.Add(-k.sessionIdle))
	if err != nil || k.courier.store == nil {
		return n, err
	}
	m, err := k.courier.store.DeleteFinishedIntents(ctx, now.Add(-deliveredRetention), now.Add(-deadRetention))
	return n + m, err
}

// RunJanitor calls [Kit.Cleanup] every interval (an hour suits most apps)
// until ctx is done, logging what it deleted and any failure, and returns
// ctx's error. Start it in a goroutine of its own:
//
//	go kit.RunJanitor(ctx, time.Hour)
//
// It returns ErrNoCleaner at once if the Store cannot delete in bulk.
func (k *Kit) RunJanitor(ctx context.Context, interval time.Duration) error {
	if _, ok := k.raw.(Cleaner); !ok {
		return ErrNoCleaner
	}
	if interval <= 0 {
		return errors.New("authkit: RunJanitor needs a positive interval")
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			n, err := k.Cleanup(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				k.log.ErrorContext(ctx, "authkit: cleaning up expired records failed", "err", err)
			case n > 0:
				k.log.InfoContext(ctx, "authkit: cleaned up expired records", "deleted", n)
			}
		}
	}
}
