package pgstore

import "github.com/pharmachain/counter/sync/hq"

var _ hq.Store = (*Store)(nil)
