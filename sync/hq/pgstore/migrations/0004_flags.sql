-- Issue 11.2: what HQ flags for a person to look at — visits of pharmacists not on the
-- store's roster, link opens too soon after the send or from the store's own sync
-- address, credits withheld by the daily cap (hq.Flag). Append-only, newest first.
CREATE TABLE flags (
	seq           bigserial PRIMARY KEY,
	at            timestamptz NOT NULL,
	kind          text NOT NULL,
	store_id      text COLLATE "C" NOT NULL,
	pharmacist_id text COLLATE "C" NOT NULL DEFAULT '',
	ref           text NOT NULL DEFAULT '',
	points        int4 NOT NULL DEFAULT 0,
	detail        text NOT NULL DEFAULT ''
);
CREATE INDEX flags_store ON flags (store_id, seq);
