// Package redispush is an [authkit.RevocationNotifier] on Redis pub/sub:
// instances whose session caches ([authkit.SessionCache]) share a Redis
// learn of a revocation in milliseconds rather than at their next read of
// the store's revocation log.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	cfg.SessionCache = authkit.SessionCache{Size: 10_000, Notifier: redispush.New(rdb, "")}
//
// A notice carries nothing: it only wakes the instances, which then read
// the log. Redis pub/sub delivers at most once, to the subscribers
// connected at that moment; a notice lost to a reconnect costs the time
// to the next read of the log (a quarter of the cache's bound), never a
// revocation.
package redispush

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/authkit/authkit"
)

var _ authkit.RevocationNotifier = (*Notifier)(nil)

// DefaultChannel is the channel of a Notifier made with an empty one.
const DefaultChannel = "authkit:revocations"

// Notifier publishes and listens on one Redis channel. It is safe for
// concurrent use.
type Notifier struct {
	client  redis.UniversalClient
	channel string
}

// New returns a Notifier on channel ("" means [DefaultChannel]) through
// client (a *redis.Client, *redis.ClusterClient or *redis.Ring).
// Instances notify each other when they use the same channel on one
// Redis.
func New(client redis.UniversalClient, channel string) *Notifier {
	if channel == "" {
		channel = DefaultChannel
	}
	return &Notifier{client: client, channel: channel}
}

// Notify implements [authkit.RevocationNotifier]: one PUBLISH.
func (n *Notifier) Notify(ctx context.Context) error {
	return n.client.Publish(ctx, n.channel, "").Err()
}

// Listen implements [authkit.RevocationNotifier]: it subscribes, and calls
// wake for each message until ctx ends. It returns an error when the
// subscription cannot be made.
func (n *Notifier) Listen(ctx context.Context, wake func()) error {
	sub := n.client.Subscribe(ctx, n.channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the confirmation
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	// Channel resubscribes by itself after a lost connection.
	messages := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-messages:
			if !ok {
				return errors.New("redispush: the subscription was closed")
			}
			wake()
		}
	}
}
