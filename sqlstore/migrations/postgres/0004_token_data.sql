-- Token data (authkit.Token.Data): what the kit keeps with a one-time
-- token, opaque to the store, at most authkit.MaxTokenData (64 KiB) bytes.
--
-- The tokens the previous release wrote take NULL, which reads as no data
-- (nil): they stay valid across the upgrade. No data is written as NULL
-- too, so every row without data looks the same.
--
-- A nullable column without a default is added without rewriting the
-- table.
ALTER TABLE authkit_tokens ADD COLUMN data BYTEA;
