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
ALTER TABLE authkit_users ADD COLUMN access_groups TEXT;
ALTER TABLE authkit_users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE authkit_users ADD COLUMN server_data TEXT;
