-- HQ on PostgreSQL: the whole hq.Store in one schema.
--
-- Identifiers are text COLLATE "C" (byte order, like the bbolt backend's keys, and
-- cheaper to compare than a locale's order). Times are timestamptz (microseconds); a
-- zero Go time is NULL. Local days (flows.Day, days since 1970-01-01 in Asia/Shanghai)
-- are int4; months are year*12 + month-1.
--
-- Distribution (Citus, see docs/hq.md "Scaling out"): visits, rollups, follow-ups and
-- contacts by store_id; purchases by customer_key; the small tables are reference tables.

-- Bearer tokens by SHA-256 hex of the token text.
CREATE TABLE tokens (
	hash       text COLLATE "C" PRIMARY KEY,
	store_id   text COLLATE "C" NOT NULL DEFAULT '',
	admin      boolean NOT NULL DEFAULT false,
	label      text NOT NULL DEFAULT '',
	created_at timestamptz
);

-- Service records, deduplicated by id (ON CONFLICT DO NOTHING). body is the record's
-- JSON as received. A purged visit keeps its row as a tombstone (purged, body NULL,
-- no customer key) so that a late resend is still a duplicate.
CREATE TABLE visits (
	id           text COLLATE "C" PRIMARY KEY,
	store_id     text COLLATE "C" NOT NULL,
	day          int4 NOT NULL,
	customer_key bytea,
	purged       boolean NOT NULL DEFAULT false,
	body         bytea
);
CREATE INDEX visits_customer ON visits (customer_key) WHERE customer_key IS NOT NULL;
CREATE INDEX visits_day ON visits (day) WHERE NOT purged;

-- POS purchases, deduplicated by id. History reads one customer's rows by sale time through
-- purchases_history; retention deletes by day through purchases_day.
CREATE TABLE purchases (
	id           text COLLATE "C" PRIMARY KEY,
	customer_key bytea NOT NULL,
	day          int4 NOT NULL,
	store_id     text COLLATE "C" NOT NULL,
	sold_at      timestamptz NOT NULL,
	drug_code    text NOT NULL DEFAULT '',
	name         text NOT NULL DEFAULT '',
	ingredient   text NOT NULL DEFAULT '',
	atc          text NOT NULL DEFAULT '',
	quantity     float8 NOT NULL DEFAULT 0,
	days_supply  int4 NOT NULL DEFAULT 0,
	amount_fen   int8,
	receipt_id   text NOT NULL DEFAULT '',
	kind         text NOT NULL DEFAULT ''
);
CREATE INDEX purchases_history ON purchases (customer_key, sold_at, id);
CREATE INDEX purchases_day ON purchases (day);

-- Completion rollups: per store, local day and pharmacist, and the same summed per
-- store and day; per month beside per day, so a year's report reads 12 rows per store.
CREATE TABLE rollup_day (
	store_id      text COLLATE "C" NOT NULL,
	day           int4 NOT NULL,
	pharmacist_id text COLLATE "C" NOT NULL,
	-- int4 counters (a store's month stays far below 2^31); sum(int4) is PostgreSQL's
	-- fast integer sum, where sum(int8) would accumulate in numeric.
	visits int4 NOT NULL, completed int4 NOT NULL, abandoned int4 NOT NULL, in_progress int4 NOT NULL,
	funnel1 int4 NOT NULL, funnel2 int4 NOT NULL, funnel3 int4 NOT NULL, funnel4 int4 NOT NULL,
	stalled1 int4 NOT NULL, stalled2 int4 NOT NULL, stalled3 int4 NOT NULL, stalled4 int4 NOT NULL,
	timed1 int4 NOT NULL, timed2 int4 NOT NULL, timed3 int4 NOT NULL, timed4 int4 NOT NULL,
	seconds1 float8 NOT NULL, seconds2 float8 NOT NULL, seconds3 float8 NOT NULL, seconds4 float8 NOT NULL,
	PRIMARY KEY (store_id, day, pharmacist_id)
);
CREATE TABLE rollup_store_day (LIKE rollup_day);
ALTER TABLE rollup_store_day DROP COLUMN pharmacist_id;
ALTER TABLE rollup_store_day ADD PRIMARY KEY (store_id, day);
CREATE INDEX rollup_store_day_day ON rollup_store_day (day);

CREATE TABLE rollup_month (LIKE rollup_day);
ALTER TABLE rollup_month RENAME COLUMN day TO month;
ALTER TABLE rollup_month ADD PRIMARY KEY (store_id, month, pharmacist_id);
CREATE TABLE rollup_store_month (LIKE rollup_store_day);
ALTER TABLE rollup_store_month RENAME COLUMN day TO month;
ALTER TABLE rollup_store_month ADD PRIMARY KEY (store_id, month);
CREATE INDEX rollup_store_month_month ON rollup_store_month (month);

-- The same per content version (flows.Visit.ContentVersion; 0 = the embedded default),
-- for the report by content version.
CREATE TABLE rollup_content_day (LIKE rollup_day);
ALTER TABLE rollup_content_day ADD COLUMN content_version int4 NOT NULL;
ALTER TABLE rollup_content_day ADD PRIMARY KEY (content_version, store_id, day, pharmacist_id);
CREATE TABLE rollup_content_month (LIKE rollup_month);
ALTER TABLE rollup_content_month ADD COLUMN content_version int4 NOT NULL;
ALTER TABLE rollup_content_month ADD PRIMARY KEY (content_version, store_id, month, pharmacist_id);

-- Points: each event credited once by id; totals per store and pharmacist.
CREATE TABLE points_events (
	id            text COLLATE "C" PRIMARY KEY,
	store_id      text COLLATE "C" NOT NULL,
	pharmacist_id text COLLATE "C" NOT NULL,
	kind          text NOT NULL DEFAULT '',
	points        int4 NOT NULL,
	at            timestamptz,
	ref           text NOT NULL DEFAULT ''
);
CREATE TABLE points_totals (
	store_id      text COLLATE "C" NOT NULL,
	pharmacist_id text COLLATE "C" NOT NULL,
	points        int8 NOT NULL,
	PRIMARY KEY (store_id, pharmacist_id)
);

-- Each store's pharmacists (JSON flows.Pharmacist: name, manager, PIN hash, badge).
CREATE TABLE roster (
	store_id      text COLLATE "C" NOT NULL,
	pharmacist_id text COLLATE "C" NOT NULL,
	body          jsonb NOT NULL,
	PRIMARY KEY (store_id, pharmacist_id)
);

-- Follow-ups. followup is the JSON flows.FollowUp; store_id and customer_key repeat
-- it for the indexes. The dispatcher claims due ones (status scheduled, next_at due,
-- lease free) with FOR UPDATE SKIP LOCKED and holds them with a lease.
CREATE TABLE followups (
	id           text COLLATE "C" PRIMARY KEY,
	store_id     text COLLATE "C" NOT NULL,
	customer_key text COLLATE "C" NOT NULL DEFAULT '',
	channel      text NOT NULL DEFAULT '',
	due_at       timestamptz NOT NULL,
	due_day      int4 NOT NULL,
	followup     jsonb NOT NULL,
	consent      jsonb NOT NULL DEFAULT '{}',
	status       text NOT NULL,
	attempts     int4 NOT NULL DEFAULT 0,
	next_at      timestamptz NOT NULL,
	enqueued_at  timestamptz,
	sent_at      timestamptz,
	last_code    text NOT NULL DEFAULT '',
	last_reason  text NOT NULL DEFAULT '',
	opened_at    timestamptz,
	booked_at    timestamptz,
	escalated_at timestamptz,
	lease_owner  text NOT NULL DEFAULT '',
	lease_until  timestamptz
);
CREATE INDEX followups_due ON followups (next_at) WHERE status = 'scheduled';
CREATE INDEX followups_sending ON followups (lease_until) WHERE status = 'sending';
CREATE INDEX followups_unopened ON followups (store_id) WHERE opened_at IS NULL;
CREATE INDEX followups_customer ON followups (customer_key) WHERE customer_key <> '';
CREATE INDEX followups_due_day ON followups (due_day);

CREATE TABLE followup_attempts (
	followup_id text COLLATE "C" NOT NULL REFERENCES followups (id),
	attempt     int4 NOT NULL,
	channel     text NOT NULL DEFAULT '',
	started_at  timestamptz,
	finished_at timestamptz,
	status      text NOT NULL,
	code        text NOT NULL DEFAULT '',
	reason      text NOT NULL DEFAULT '',
	msg_id      text NOT NULL DEFAULT '',
	PRIMARY KEY (followup_id, attempt)
);

CREATE TABLE bookings (
	followup_id text COLLATE "C" PRIMARY KEY REFERENCES followups (id),
	store_id    text COLLATE "C" NOT NULL,
	day         int4 NOT NULL,
	slot        text NOT NULL,
	at          timestamptz NOT NULL
);

-- Staff notices (escalations, daily summaries): one claim per key, ever.
CREATE TABLE notices (
	key   text COLLATE "C" PRIMARY KEY,
	owner text NOT NULL,
	at    timestamptz NOT NULL
);

-- WeCom contact bindings, one per store and customer.
CREATE TABLE contacts (
	store_id        text COLLATE "C" NOT NULL,
	customer_key    text COLLATE "C" NOT NULL,
	sender          text NOT NULL,
	external_userid text NOT NULL,
	consent_at      timestamptz,
	visit_id        text NOT NULL DEFAULT '',
	PRIMARY KEY (store_id, customer_key)
);
CREATE INDEX contacts_external ON contacts (external_userid);
CREATE INDEX contacts_customer ON contacts (customer_key);

-- The append-only audit log.
CREATE TABLE audit (
	seq    bigserial PRIMARY KEY,
	at     timestamptz NOT NULL,
	actor  text NOT NULL,
	action text NOT NULL,
	detail text NOT NULL DEFAULT ''
);

-- Dashboard sessions by the hash of their cookie, and sign-in failures per address.
CREATE TABLE sessions (
	id_hash text COLLATE "C" PRIMARY KEY,
	csrf    text NOT NULL,
	expires timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);
CREATE TABLE signin_failures (
	addr text NOT NULL,
	at   timestamptz NOT NULL
);
CREATE INDEX signin_failures_addr ON signin_failures (addr, at);

-- HQ's own secrets (link signing key, the demo chain secret), shared by all replicas.
CREATE TABLE secrets (
	name  text COLLATE "C" PRIMARY KEY,
	value bytea NOT NULL
);

-- Content packs: immutable numbered versions and their files, which version each
-- store runs (store_id '' holds the chain default), and what each kiosk reports.
CREATE TABLE content_versions (
	number int4 PRIMARY KEY,
	hash   text NOT NULL,
	author text NOT NULL,
	at     timestamptz NOT NULL,
	note   text NOT NULL DEFAULT ''
);
CREATE TABLE content_files (
	version int4 NOT NULL REFERENCES content_versions (number),
	name    text COLLATE "C" NOT NULL,
	data    bytea NOT NULL,
	PRIMARY KEY (version, name)
);
CREATE TABLE content_assignments (
	store_id text COLLATE "C" PRIMARY KEY,
	version  int4 NOT NULL
);
CREATE TABLE content_status (
	store_id text COLLATE "C" PRIMARY KEY,
	status   jsonb NOT NULL
);
