// Package followup is HQ's side of step 4 (效果追踪), on the hq.Store interfaces only:
// it turns a consented visit into the follow-up scheduled with it (Prepare, applied at
// ingest so the visit and its follow-up commit together), sends due follow-ups through a
// Channel (WeCom customer contact, a log-only demo channel) under claims and leases so
// several HQ processes send each follow-up once, serves the signed tracked link
// (/f/{token}) whose open or booking records and credits points in one store call,
// flags overdue follow-ups, escalates them and posts the stores' daily summaries once,
// and binds customers to WeCom contacts from WeCom's callback. See docs/followups.md.
package followup

import (
	"github.com/pharmachain/counter/flows"
)

var shanghai = flows.Shanghai()
