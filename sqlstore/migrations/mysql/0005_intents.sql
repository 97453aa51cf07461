-- Intents (authkit.Courier): the messages the kit promised and has yet to
-- deliver, or delivered lately. No link, code or message is kept: the kit
-- derives them at delivery. Times are Unix milliseconds (UTC); workers
-- claim due rows with FOR UPDATE SKIP LOCKED (MySQL 8.0, MariaDB 10.6).
CREATE TABLE authkit_intents (
	id          VARCHAR(64)  NOT NULL PRIMARY KEY,
	kind        VARCHAR(32)  NOT NULL,
	recipient   VARCHAR(320) NOT NULL, -- the email address or phone number
	user_id     VARCHAR(64)  NOT NULL,
	ip          VARCHAR(64)  NOT NULL,
	user_agent  TEXT         NOT NULL,
	data        MEDIUMBLOB,            -- what the delivery needs; NULL once delivered
	state       VARCHAR(16)  NOT NULL, -- pending, leased, delivered, dead
	tries       INT          NOT NULL,
	next_at     BIGINT       NOT NULL,
	lease_owner VARCHAR(128) NOT NULL,
	lease_until BIGINT       NOT NULL,
	last_error  TEXT         NOT NULL,
	created_at  BIGINT       NOT NULL,
	updated_at  BIGINT       NOT NULL,
	INDEX authkit_intents_due (state, next_at),
	INDEX authkit_intents_lease (state, lease_until),
	INDEX authkit_intents_updated (state, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
