package pgtest

// ErrNotInstalled means no PostgreSQL server binaries were found.
const ErrNotInstalled = sentinel("PostgreSQL server binaries (initdb, postgres) not found")

// Options tune a cluster.
type Options struct {
	// SyncCommit keeps synchronous_commit on: a commit is in the WAL before it is
	// acknowledged, so StopServer (an immediate stop) loses no acknowledged
	// transaction. Off (the shared test cluster) is faster; fsync is off either way
	// (the tests survive server crashes, not machine crashes).
	SyncCommit bool
	// Durable turns fsync and full-page writes on too, as a production server runs
	// (benchmarks that compare with an fsync'ing embedded store).
	Durable bool
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
