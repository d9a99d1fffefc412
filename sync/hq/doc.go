// Package hq is the domain root of HQ: the types HQ keeps (principals, ingested visits
// and purchases, completion rollups, points, follow-ups, contact bindings, audit
// entries, dashboard sessions) and the storage seam, Store, split by area into small
// interfaces, one file per area. Backends live in sub-packages (sync/hq/boltstore, the
// embedded default; sync/hq/pgstore); sync/hq/storetest is the conformance suite every
// backend passes. Nothing here knows a database: the HTTP API (sync/hq/api), the
// follow-ups (sync/hq/followup), the dashboard and the admin operations use Store only.
//
// # The contract every backend keeps
//
//   - Every method is safe for concurrent use, also from several HQ processes sharing
//     one database (replicas), where the backend allows it.
//   - What must commit together is passed as data, never as a transaction: ingest takes
//     the follow-ups to schedule and the audit entries of each visit (VisitIngest) and
//     writes them only for visits it inserts, in the commit of the visit, its rollups
//     and its points; opening a tracked link records the open and credits its points in
//     one call (OpenLink). A method documented as "one commit" either does all of what
//     it says or nothing (an error then means nothing changed).
//   - Idempotence is by the caller's ids (visit id, purchase id, points event id,
//     follow-up id): a repeat changes nothing and reports itself as a duplicate.
//   - Errors: ErrNotFound for a missing keyed item, ErrInvalid (wrapped, with the field
//     named) for input a store refuses — the HTTP API answers 400 with it —,
//     ErrLeaseLost for follow-up work whose claim passed to someone else,
//     ErrUnsupported for an operation the backend leaves to other tools (e.g. backup).
//     Other errors are the backend's own (I/O, connection), wrapped with context.
//   - Times are kept to the microsecond at least and compared with time.Time.Equal; the
//     location of returned times is unspecified. Local days (flows.Day) are
//     Asia/Shanghai days.
//   - Returned slices may be nil when empty unless a method says otherwise.
//   - A store never logs or returns a customer key where the method does not ask for it,
//     and never writes raw ID numbers anywhere (it never sees them).
package hq
