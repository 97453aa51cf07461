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
-- NULL, not a default of '[]' or '{}': MariaDB takes a literal default on
-- a TEXT column, but MySQL refuses one (and takes an expression only from
-- 8.0.13). MySQL 8.0 and MariaDB 10.3 add a nullable column, or one with a
-- literal default, in place, without copying the table. MEDIUMTEXT for
-- server_data, as for profile.
ALTER TABLE authkit_users ADD COLUMN access_groups TEXT;
ALTER TABLE authkit_users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE authkit_users ADD COLUMN server_data MEDIUMTEXT;
