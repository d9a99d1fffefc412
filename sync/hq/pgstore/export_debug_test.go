package pgstore

import "github.com/pharmachain/counter/sync/hq"

// CompletionSQLForTest exposes the report's SQL (EXPLAIN in benchmarks).
func CompletionSQLForTest(q hq.CompletionQuery) (string, []any) { return completionSQL(q) }
