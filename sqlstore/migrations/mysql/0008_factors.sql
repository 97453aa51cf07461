-- Second factors (authkit.FactorStore) and the assurance of a session
-- (authkit.Session.Factors).
--
-- A session records how many factors its sign-in proved; the sessions the
-- previous release wrote proved one (MySQL 8.0 and MariaDB 10.3 add a
-- column with a literal default in place). A factor's secret is sealed by
-- the kit (opaque here); last_step is the newest TOTP time step accepted,
-- moved only forward by a conditional UPDATE. Recovery codes are the kit's
-- keyed hashes, each spent by a DELETE that one caller wins. Both go with
-- their user (DeleteUser deletes them, and the foreign keys cascade).
ALTER TABLE authkit_sessions ADD COLUMN factors INTEGER NOT NULL DEFAULT 1;

CREATE TABLE authkit_factors (
	user_id    VARCHAR(64)    NOT NULL,
	kind       VARCHAR(32)    NOT NULL,
	secret     VARBINARY(512) NOT NULL,
	active     BOOLEAN        NOT NULL,
	last_step  BIGINT         NOT NULL,
	created_at BIGINT         NOT NULL,
	PRIMARY KEY (user_id, kind),
	FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE authkit_recovery_codes (
	user_id   VARCHAR(64)  NOT NULL,
	code_hash VARCHAR(128) NOT NULL,
	PRIMARY KEY (user_id, code_hash),
	FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
