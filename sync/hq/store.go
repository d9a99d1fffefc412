package hq

// Store is the whole HQ storage: one interface per area, each in its own file. A new
// area is a new file with its interface and one line here; a backend implements it and
// the conformance suite (sync/hq/storetest) gains a file of cases for it.
//
// The embedded default is sync/hq/boltstore (one bbolt file); sync/hq/pgstore keeps the
// same contract on PostgreSQL. See the package documentation for what every method
// guarantees.
type Store interface {
	TokenStore
	VisitStore
	PurchaseStore
	CompletionStore
	PointsStore
	RosterStore
	FollowUpStore
	LinkStore
	NoticeStore
	ContactStore
	AuditStore
	SessionStore
	SecretStore
	MaintenanceStore
	ContentStore
	FlagStore
	NonceStore
	ReadLogStore
	EffectStore
	ExportStore

	// Close releases the storage (flushes and closes files, closes connections).
	Close() error
}
