-- Credential stamps (authkit.User.Stamp, Session.Stamp, Token.Stamp): a
-- session, grant key, link or code is alive only while the stamp it carries
-- is its user's.
--
-- The rows the previous release wrote take '' on every side: users,
-- sessions and tokens alike. '' is a valid stamp, so those sessions and
-- tokens carry their user's stamp and stay valid across the upgrade, until
-- the user's stamp next moves on (a password set or reset, a sign-out
-- everywhere).
--
-- Stamps compare byte for byte, as the tables' other keys do (utf8mb4_bin).
-- MySQL 8.0 and MariaDB 10.3 add such a column in place, without copying
-- the table.
ALTER TABLE authkit_users ADD COLUMN stamp VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '';
ALTER TABLE authkit_sessions ADD COLUMN stamp VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '';
ALTER TABLE authkit_tokens ADD COLUMN stamp VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '';
