-- Passkeys (authkit.PasskeyStore): a user's WebAuthn credentials.
--
-- id is the kit's id of a passkey, credential_id the authenticator's (at
-- most 1023 bytes), each unique; credential is the credential record as
-- the kit wrote it (opaque here). sign_count is the authenticator's
-- signature counter at the last accepted use, moved by a conditional
-- UPDATE that one of racing callers wins; last_used_at is 0 until the
-- first use. Passkeys go with their user (DeleteUser and DeleteFactors
-- delete them, and the foreign key cascades).
CREATE TABLE authkit_passkeys (
	id            VARCHAR(64)     NOT NULL,
	user_id       VARCHAR(64)     NOT NULL,
	credential_id VARBINARY(1023) NOT NULL,
	name          VARCHAR(255)    NOT NULL,
	credential    MEDIUMBLOB      NOT NULL,
	sign_count    BIGINT          NOT NULL,
	created_at    BIGINT          NOT NULL,
	last_used_at  BIGINT          NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY authkit_passkeys_credential (credential_id),
	KEY authkit_passkeys_user (user_id, created_at),
	FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
