-- The revocation log (authkit.RevocationLog): every change that may end a
-- session, numbered in the order the changes committed, for the instances
-- that keep sessions in memory. A row is {seq, user, session} with the
-- session '' when any session of the user may have ended (the user
-- changed, was deleted, or had every session deleted). Times are Unix
-- milliseconds (UTC), by the clock of the instance that logged the row:
-- for deleting the rows after authkit.RevocationRetention, never for
-- their order. No foreign key: a deleted user's revocation outlives them.
CREATE TABLE authkit_revocations (
	seq        INTEGER PRIMARY KEY,
	user_id    TEXT    NOT NULL,
	session_id TEXT    NOT NULL, -- '' for every session of the user
	logged_at  INTEGER NOT NULL
);
CREATE INDEX authkit_revocations_logged ON authkit_revocations (logged_at);

-- The one counter the numbers come from, raised by the change's own
-- transaction, as its last statement but one: the transaction holds the
-- database's write lock (BEGIN IMMEDIATE) to its commit, so the numbers
-- follow the commits and a rollback gives its number back. It holds the
-- newest number ever given, which the deletion of old rows leaves be.
CREATE TABLE authkit_revocation_seq (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL
);
INSERT INTO authkit_revocation_seq (id, seq) VALUES (1, 0);
