-- Issue 11.8: one-time values of signed messages (WeCom callbacks), remembered while the
-- messages are valid, so a replay is refused by every replica (hq.NonceStore).
CREATE TABLE nonces (
	key   text COLLATE "C" PRIMARY KEY,
	until timestamptz NOT NULL
);
CREATE INDEX nonces_until ON nonces (until);
