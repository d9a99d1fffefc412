package hq

import (
	"context"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
)

// EffectStore gives the effect and process-health reports (flows/effect)
// their facts. A store keeps a compact effect.VisitFact beside every visit it ingests
// (and builds them once for visits stored before), so the reports decode no visit JSON.
// Every method streams to fn in the order it states; an error from fn stops the scan
// and is returned. Purged visits and purchases are gone here too; a forgotten
// customer's visits have no customer key (ForgetCustomer).
type EffectStore interface {
	// EffectVisits calls fn with every visit started on local days [from, to] at store
	// (every store when store is ""), in no particular order.
	EffectVisits(ctx context.Context, store string, from, to flows.Day, fn func(effect.VisitFact) error) error
	// CustomerEffectVisits calls fn with the complete visits (all four steps, outcome
	// complete) started on [from, to] at any store of the given customers, a customer's
	// visits together, oldest first. Unknown keys have none; a malformed key is
	// ErrInvalid.
	CustomerEffectVisits(ctx context.Context, customers []string, from, to flows.Day, fn func(effect.VisitFact) error) error
	// CustomerPurchases calls fn with the purchases sold on [from, to] at any store of the
	// given customers, a customer's purchases together, as effect.PurchaseFactOf reads the
	// purchases History gives (fn must copy a fact it keeps: the store may reuse it). A
	// malformed key is ErrInvalid.
	CustomerPurchases(ctx context.Context, customers []string, from, to flows.Day, fn func(*effect.PurchaseFact) error) error
	// EffectCustomers lists, sorted and once each, the customers with a visit or a
	// purchase at store on [from, to] (the candidates of a store's effect report).
	EffectCustomers(ctx context.Context, store string, from, to flows.Day) ([]string, error)
	// EffectPurchases calls fn with every purchase sold on [from, to] at any store, a
	// customer's purchases together, as facts like CustomerPurchases (the chain-wide
	// report).
	EffectPurchases(ctx context.Context, from, to flows.Day, fn func(*effect.PurchaseFact) error) error
	// EffectFollowUps calls fn with every follow-up due on local days [from, to] at
	// store (every store when ""): its store, due, sent and opened times.
	EffectFollowUps(ctx context.Context, store string, from, to flows.Day, fn func(effect.FollowUpFact) error) error
}
