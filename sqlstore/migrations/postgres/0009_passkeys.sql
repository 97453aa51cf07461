-- Passkeys (authkit.PasskeyStore): a user's WebAuthn credentials.
--
-- id is the kit's id of a passkey, credential_id the authenticator's, each
-- unique; credential is the credential record as the kit wrote it (opaque
-- here). sign_count is the authenticator's signature counter at the last
-- accepted use, moved by a conditional UPDATE that one of racing callers
-- wins; last_used_at is 0 until the first use. Passkeys go with their user
-- (DeleteUser and DeleteFactors delete them, and the foreign key cascades).
CREATE TABLE authkit_passkeys (
	id            TEXT   NOT NULL PRIMARY KEY,
	user_id       TEXT   NOT NULL REFERENCES authkit_users (id) ON DELETE CASCADE,
	credential_id BYTEA  NOT NULL UNIQUE,
	name          TEXT   NOT NULL,
	credential    BYTEA  NOT NULL,
	sign_count    BIGINT NOT NULL,
	created_at    BIGINT NOT NULL,
	last_used_at  BIGINT NOT NULL
);

CREATE INDEX authkit_passkeys_user ON authkit_passkeys (user_id, created_at);
