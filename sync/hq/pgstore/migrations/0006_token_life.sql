-- Issue 11.6: tokens have a life cycle while HQ runs — expiry, revocation, last use —
-- and HQ remembers the addresses each store's tokens sync from (suspicious link opens
-- from the counter PC). A dashboard session remembers the token it was opened with, and
-- ends when that token is revoked or expires.
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE tokens ADD COLUMN revoked_at timestamptz;
ALTER TABLE tokens ADD COLUMN last_used timestamptz;
ALTER TABLE tokens ADD COLUMN last_addr text NOT NULL DEFAULT '';
CREATE TABLE store_addresses (
	store_id  text COLLATE "C" NOT NULL,
	addr      text COLLATE "C" NOT NULL,
	last_seen timestamptz NOT NULL,
	PRIMARY KEY (store_id, addr)
);
ALTER TABLE sessions ADD COLUMN token_hash text NOT NULL DEFAULT '';
