-- Users, sessions and one-time tokens. Times are Unix milliseconds (UTC).
-- An absent email or phone is NULL, so that the unique indexes allow many.
-- Keys compare byte for byte (utf8mb4_bin): ids and hashes are case-sensitive.
CREATE TABLE authkit_users (
	id               VARCHAR(64)  NOT NULL PRIMARY KEY,
	provider         VARCHAR(32)  NOT NULL,
	provider_user_id VARCHAR(255) NOT NULL,
	email            VARCHAR(320),
	email_fold       VARCHAR(320) UNIQUE, -- lower(email): emails are unique whatever their case
	email_verified   BOOLEAN      NOT NULL,
	phone            VARCHAR(32)  UNIQUE,
	phone_verified   BOOLEAN      NOT NULL,
	name             TEXT         NOT NULL,
	profile_picture  TEXT         NOT NULL,
	password_hash    TEXT         NOT NULL,
	profile          MEDIUMTEXT   NOT NULL, -- JSON object of the app's extra fields
	sign_up_at       BIGINT       NOT NULL,
	last_login_at    BIGINT       NOT NULL,
	UNIQUE (provider, provider_user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE authkit_sessions (
	id           VARCHAR(64)  NOT NULL PRIMARY KEY,
	token_hash   VARCHAR(128) NOT NULL UNIQUE,
	user_id      VARCHAR(64)  NOT NULL,
	created_at   BIGINT       NOT NULL,
	last_seen_at BIGINT       NOT NULL,
	expires_at   BIGINT       NOT NULL,
	user_agent   TEXT         NOT NULL, -- JSON of the parsed User-Agent
	ip           VARCHAR(64)  NOT NULL,
	INDEX authkit_sessions_user (user_id, created_at, id),
	INDEX authkit_sessions_expires (expires_at),
	INDEX authkit_sessions_last_seen (last_seen_at),
	FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE authkit_tokens (
	hash       VARCHAR(128) NOT NULL PRIMARY KEY,
	purpose    VARCHAR(32)  NOT NULL,
	user_id    VARCHAR(64),
	subject    VARCHAR(320) NOT NULL,
	action     VARCHAR(64)  NOT NULL,
	link       VARCHAR(128) NOT NULL,
	attempts   INTEGER      NOT NULL,
	created_at BIGINT       NOT NULL,
	expires_at BIGINT       NOT NULL,
	INDEX authkit_tokens_user (user_id, purpose),
	INDEX authkit_tokens_subject (purpose, subject, created_at),
	INDEX authkit_tokens_expires (expires_at),
	FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
