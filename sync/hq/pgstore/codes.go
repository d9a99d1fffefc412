package pgstore

import "github.com/pharmachain/counter/sync/hq"

// Reason codes the store sets itself.
const (
	interruptedCode = "interrupted"
	resolvedCode    = "resolved"
	cancelledCode   = "contact_removed"
	forgottenCode   = "customer_deleted"
)

// The seam's follow-up types do not carry reason codes (yet); these keep the code
// column's handling in one place.
func lastCode(it hq.FollowUpItem) string             { return "" }
func setLastCode(it *hq.FollowUpItem, code string)   {}
func setAttemptCode(a *hq.SendAttempt, code string)  {}
func resultCode(r hq.AttemptResult) string           { return "" }
