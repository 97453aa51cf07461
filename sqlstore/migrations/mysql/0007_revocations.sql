-- The revocation log (authkit.RevocationLog): every change that may end a
-- session, numbered in the order the changes committed, for the instances
-- that keep sessions in memory. A row is {seq, user, session} with the
-- session '' when any session of the user may have ended (the user
-- changed, was deleted, or had every session deleted). Times are Unix
-- milliseconds (UTC), by the clock of the instance that logged the row:
-- for deleting the rows after authkit.RevocationRetention, never for
-- their order. No foreign key: a deleted user's revocation outlives them.
CREATE TABLE authkit_revocations (
	seq        BIGINT      NOT NULL PRIMARY KEY,
	user_id    VARCHAR(64) NOT NULL,
	session_id VARCHAR(64) NOT NULL, -- '' for every session of the user
	logged_at  BIGINT      NOT NULL,
	INDEX authkit_revocations_logged (logged_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The one counter the numbers come from, raised by the change's own
-- transaction, as its last write but one: the row's lock, held to the
-- commit, makes the numbers follow the commits, and a rollback gives its
-- number back. (AUTO_INCREMENT would not: it leaves gaps, and hands
-- numbers out in another order than the commits.) It holds the newest
-- number ever given, which the deletion of old rows leaves be.
CREATE TABLE authkit_revocation_seq (
	id  INT    NOT NULL PRIMARY KEY,
	seq BIGINT NOT NULL
) ENGINE=InnoDB;
INSERT INTO authkit_revocation_seq (id, seq) VALUES (1, 0);
