-- Intents (authkit.Courier): the messages the kit promised and has yet to
-- deliver, or delivered lately. No link, code or message is kept: the kit
-- derives them at delivery. Times are Unix milliseconds (UTC); the lease
-- is claimed by a conditional UPDATE in a write transaction, which SQLite
-- runs one at a time.
CREATE TABLE authkit_intents (
	id          TEXT    PRIMARY KEY,
	kind        TEXT    NOT NULL,
	recipient   TEXT    NOT NULL, -- the email address or phone number
	user_id     TEXT    NOT NULL,
	ip          TEXT    NOT NULL,
	user_agent  TEXT    NOT NULL,
	data        BLOB,             -- what the delivery needs; NULL once delivered
	state       TEXT    NOT NULL, -- pending, leased, delivered, dead
	tries       INTEGER NOT NULL,
	next_at     INTEGER NOT NULL,
	lease_owner TEXT    NOT NULL,
	lease_until INTEGER NOT NULL,
	last_error  TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX authkit_intents_due ON authkit_intents (state, next_at);
CREATE INDEX authkit_intents_lease ON authkit_intents (state, lease_until);
CREATE INDEX authkit_intents_updated ON authkit_intents (state, updated_at);
