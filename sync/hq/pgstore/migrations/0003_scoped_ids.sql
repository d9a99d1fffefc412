-- Issue 11.4: visit ids are chosen by the stores' kiosks and scoped per store — a
-- record of S002 whose id S001 already used is S002's own visit. So are the points
-- events derived from them (VISIT:visit_complete). Both tables are keyed by
-- (store_id, id); visits_id finds a visit id across stores (WeCom contact QR codes).
ALTER TABLE visits DROP CONSTRAINT visits_pkey;
ALTER TABLE visits ADD PRIMARY KEY (store_id, id);
CREATE INDEX visits_id ON visits (id);
ALTER TABLE points_events DROP CONSTRAINT points_events_pkey;
ALTER TABLE points_events ADD PRIMARY KEY (store_id, id);
ALTER TABLE visit_facts DROP CONSTRAINT visit_facts_pkey;
ALTER TABLE visit_facts ADD PRIMARY KEY (store_id, id);
