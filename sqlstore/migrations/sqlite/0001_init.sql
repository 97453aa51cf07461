-- Users, sessions and one-time tokens. Times are Unix milliseconds (UTC).
-- An absent email or phone is NULL, so that the unique indexes allow many.
CREATE TABLE authkit_users (
	id               TEXT    PRIMARY KEY,
	provider         TEXT    NOT NULL,
	provider_user_id TEXT    NOT NULL,
	email            TEXT,
	email_fold       TEXT    UNIQUE, -- lower(email): emails are unique whatever their case
	email_verified   INTEGER NOT NULL,
	phone            TEXT    UNIQUE,
	phone_verified   INTEGER NOT NULL,
	name             TEXT    NOT NULL,
	profile_picture  TEXT    NOT NULL,
	password_hash    TEXT    NOT NULL,
	profile          TEXT    NOT NULL, -- JSON object of the app's extra fields
	sign_up_at       INTEGER NOT NULL,
	last_login_at    INTEGER NOT NULL,
	UNIQUE (provider, provider_user_id)
);

CREATE TABLE authkit_sessions (
	id           TEXT    PRIMARY KEY,
	token_hash   TEXT    NOT NULL UNIQUE,
	user_id      TEXT    NOT NULL REFERENCES authkit_users (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	user_agent   TEXT    NOT NULL, -- JSON of the parsed User-Agent
	ip           TEXT    NOT NULL
);
CREATE INDEX authkit_sessions_user ON authkit_sessions (user_id, created_at, id);
CREATE INDEX authkit_sessions_expires ON authkit_sessions (expires_at);
CREATE INDEX authkit_sessions_last_seen ON authkit_sessions (last_seen_at);

CREATE TABLE authkit_tokens (
	hash       TEXT    PRIMARY KEY,
	purpose    TEXT    NOT NULL,
	user_id    TEXT    REFERENCES authkit_users (id) ON DELETE CASCADE,
	subject    TEXT    NOT NULL,
	action     TEXT    NOT NULL,
	link       TEXT    NOT NULL,
	attempts   INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX authkit_tokens_user ON authkit_tokens (user_id, purpose);
CREATE INDEX authkit_tokens_subject ON authkit_tokens (purpose, subject, created_at);
CREATE INDEX authkit_tokens_expires ON authkit_tokens (expires_at);
