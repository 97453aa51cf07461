package sqlstore

import "context"

// MigrateTo is Migrate, stopping at schema version upTo: it makes the
// database an older release left, for the upgrade tests.
func (s *Store) MigrateTo(ctx context.Context, upTo int) error { return s.migrate(ctx, upTo) }
