-- The host's fields of a user (authkit.User.AccessGroups, Disabled,
-- ServerData), set only from Go, never by a client.
--
-- access_groups is a JSON array of strings and server_data a JSON object,
-- written compact (an object's keys sorted), so that equal values are
-- equal text. NULL is none (no groups, no data): the rows the previous
-- release wrote take it, and so do the rows the store writes without
-- groups or data, so every such row looks the same and the columns mean
-- the same in every dialect. The rows the previous release wrote are not
-- disabled.
--
-- A nullable column, or one with a constant default, is added without
-- rewriting the table.
ALTER TABLE authkit_users ADD COLUMN access_groups TEXT;
ALTER TABLE authkit_users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE authkit_users ADD COLUMN server_data TEXT;

-- A listing of users (authkit.UserLister.ListUsers) goes by id byte for
-- byte, whatever collation the database sorts text in: this index serves
-- its range and order, of id COLLATE "C". Building it holds off writes to
-- the users for as long as it takes (CREATE INDEX CONCURRENTLY cannot run
-- in the migration's transaction).
CREATE INDEX authkit_users_id_bytes ON authkit_users (id COLLATE "C");
