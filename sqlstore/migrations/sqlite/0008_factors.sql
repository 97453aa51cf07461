-- Second factors (authkit.FactorStore) and the assurance of a session
-- (authkit.Session.Factors).
--
-- A session records how many factors its sign-in proved; the sessions the
-- previous release wrote proved one. A factor's secret is sealed by the
-- kit (opaque here); last_step is the newest TOTP time step accepted, moved
-- only forward by a conditional UPDATE. Recovery codes are the kit's keyed
-- hashes, each spent by a DELETE that one caller wins. Both go with their
-- user (DeleteUser deletes them, and the foreign keys cascade).
ALTER TABLE authkit_sessions ADD COLUMN factors INTEGER NOT NULL DEFAULT 1;

CREATE TABLE authkit_factors (
	user_id    TEXT    NOT NULL REFERENCES authkit_users (id) ON DELETE CASCADE,
	kind       TEXT    NOT NULL,
	secret     BLOB    NOT NULL,
	active     INTEGER NOT NULL,
	last_step  INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, kind)
);

CREATE TABLE authkit_recovery_codes (
	user_id   TEXT NOT NULL REFERENCES authkit_users (id) ON DELETE CASCADE,
	code_hash TEXT NOT NULL,
	PRIMARY KEY (user_id, code_hash)
);
