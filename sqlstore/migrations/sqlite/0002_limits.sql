-- Rate-limit counts (authkit.Limiter): one row per key and window length,
-- holding the newest window counted. Times are Unix milliseconds (UTC);
-- keys are bytes, compared byte for byte.
CREATE TABLE authkit_limits (
	limit_key    BLOB    NOT NULL,
	window_ms    INTEGER NOT NULL, -- the window's length
	window_start INTEGER NOT NULL,
	hits         INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL, -- window_start + window_ms: the window's end
	PRIMARY KEY (limit_key, window_ms)
) WITHOUT ROWID;
CREATE INDEX authkit_limits_expires ON authkit_limits (expires_at);
