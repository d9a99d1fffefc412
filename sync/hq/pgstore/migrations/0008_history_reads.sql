-- Issue 11.8: who read which customer's chain-wide history, when (hq.ReadLogStore).
-- Written in batches by the API, deleted with the customer (PIPL) and by the retention.
CREATE TABLE history_reads (
	seq          bigserial PRIMARY KEY,
	at           timestamptz NOT NULL,
	reader       text NOT NULL,
	store_id     text COLLATE "C" NOT NULL DEFAULT '',
	customer_key bytea NOT NULL
);
CREATE INDEX history_reads_customer ON history_reads (customer_key, seq);
CREATE INDEX history_reads_at ON history_reads (at);
