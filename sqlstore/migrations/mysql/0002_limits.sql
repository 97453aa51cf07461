-- Rate-limit counts (authkit.Limiter): one row per key and window length,
-- holding the newest window counted. Times are Unix milliseconds (UTC);
-- keys are bytes, compared byte for byte.
CREATE TABLE authkit_limits (
	limit_key    VARBINARY(255) NOT NULL,
	window_ms    BIGINT         NOT NULL, -- the window's length
	window_start BIGINT         NOT NULL,
	hits         BIGINT         NOT NULL,
	expires_at   BIGINT         NOT NULL, -- window_start + window_ms: the window's end
	PRIMARY KEY (limit_key, window_ms),
	INDEX authkit_limits_expires (expires_at)
) ENGINE=InnoDB;
