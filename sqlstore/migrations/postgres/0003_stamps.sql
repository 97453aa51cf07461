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
-- A constant default adds the column without rewriting the table
-- (PostgreSQL 11 and later).
ALTER TABLE authkit_users ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE authkit_sessions ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE authkit_tokens ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
