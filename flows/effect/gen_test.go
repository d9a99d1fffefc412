package effect_test

import (
	"testing"

	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/flows/effect/effectgen"
)

// buildChain generates a chain into a builder.
func buildChain(t testing.TB, cfg effectgen.Config) (*effect.Data, []effectgen.Truth, effectgen.Counts) {
	t.Helper()
	b := effect.NewBuilder(effectgen.Catalog(), effectgen.Knowledge())
	var err error
	truth, cnt := effectgen.Generate(cfg, effectgen.Sink{
		Purchase: func(p *effect.PurchaseFact) {
			if e := b.AddPurchase(*p); e != nil && err == nil {
				err = e
			}
		},
		Visit: func(v *effect.VisitFact) {
			if e := b.AddVisit(*v); e != nil && err == nil {
				err = e
			}
		},
		FollowUp: func(f *effect.FollowUpFact) {
			if e := b.AddFollowUp(*f); e != nil && err == nil {
				err = e
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Build(), truth, cnt
}
