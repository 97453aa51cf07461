package sqlstore

import "context"

// MigrateTo is Migrate, stopping at schema version upTo: it makes the
// database an older release left, for the upgrade tests.
func (s *Store) MigrateTo(ctx context.Context, upTo int) error { return s.migrate(ctx, upTo) }

// UsersAfterQuery is the statement of a page of ListUsers and AllUsers,
// for the tests that read its plan.
func UsersAfterQuery(s *Store) string { return s.sql.usersAfter }
