-- The effect report's facts (issue 12, hq.EffectStore): one compact fact per visit
-- (flows/effect.VisitFact in its binary form), written with the visit in IngestVisits;
-- visits stored before this step get theirs when a store opens the database
-- (effect_backfill says whether that is done). Distributed by store_id, like visits.
CREATE TABLE visit_facts (
	id           text COLLATE "C" PRIMARY KEY,
	store_id     text COLLATE "C" NOT NULL,
	day          int4 NOT NULL,
	customer_key bytea,
	complete     boolean NOT NULL,
	fact         bytea NOT NULL
);
CREATE INDEX visit_facts_store_day ON visit_facts (store_id, day);
CREATE INDEX visit_facts_day ON visit_facts (day);
CREATE INDEX visit_facts_customer ON visit_facts (customer_key, day) WHERE complete AND customer_key IS NOT NULL;

CREATE TABLE effect_backfill (done boolean NOT NULL);
INSERT INTO effect_backfill VALUES (false);

-- A store's effect report starts from the customers who bought there.
CREATE INDEX purchases_store_day ON purchases (store_id, day);
