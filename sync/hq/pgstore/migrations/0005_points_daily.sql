-- Issue 11.2: the daily cap of link points (hq.LinkOpen.DailyCap). The points of a kind
-- a pharmacist earned on a local day through links; the cap is enforced by one
-- conditional upsert, so concurrent opens on several replicas never pass it.
CREATE TABLE points_daily (
	store_id      text COLLATE "C" NOT NULL,
	pharmacist_id text COLLATE "C" NOT NULL,
	kind          text COLLATE "C" NOT NULL,
	day           int4 NOT NULL,
	points        int4 NOT NULL,
	PRIMARY KEY (store_id, pharmacist_id, kind, day)
);
