package kiosk

import (
	"context"
	"errors"
	"sync"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/wire"
)

// effectFake is an HQ that answers only the effect report.
type effectFake struct {
	mu       sync.Mutex
	resp     wire.EffectResponse
	from, to flows.Day
	calls    int
}

var errFakeOffline = errors.New("offline")

func (f *effectFake) History(context.Context, string, int, flows.Day) (wire.HistoryResponse, error) {
	return wire.HistoryResponse{}, errFakeOffline
}
func (f *effectFake) Roster(context.Context) (wire.RosterResponse, error) {
	return wire.RosterResponse{}, errFakeOffline
}
func (f *effectFake) Points(context.Context) (wire.PointsResponse, error) {
	return wire.PointsResponse{}, errFakeOffline
}
func (f *effectFake) Effect(_ context.Context, from, to flows.Day) (wire.EffectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.from, f.to, f.calls = from, to, f.calls+1
	return f.resp, nil
}

func pdcOutcome(eff, lo, hi float64, n int) effect.Outcome {
	return effect.Outcome{Name: effect.OutcomePDC, Status: effect.StatusOK, MatchedServed: n, Effect: &eff, Low: &lo, High: &hi}
}

// TestManagerShowsEffectLines: with HQ reachable the manager view shows one line per
// class of the store's effect report (the latest year whose customers are past 90
// days), through the translations; "not enough data" below 30 matched served.
func TestManagerShowsEffectLines(t *testing.T) {
	fake := &effectFake{resp: wire.EffectResponse{Report: effect.Report{
		From: flows.DayFromDate(2025, 8, 30), To: flows.DayFromDate(2026, 8, 29),
		Classes: []effect.ClassReport{
			{Class: flows.ClassHypertension, Outcomes: []effect.Outcome{pdcOutcome(0.0825, 0.041, 0.138, 212)}},
			{Class: flows.ClassDiabetes, Outcomes: []effect.Outcome{{Name: effect.OutcomePDC, Status: effect.StatusInsufficient, MatchedServed: 12}}},
			{Class: flows.ClassHyperlipidemia, Outcomes: []effect.Outcome{pdcOutcome(-0.031, -0.05, -0.012, 40)}},
		}}, Source: wire.SourceLive}}
	h := newHarness(t, harnessOpts{fakeHQ: fake})
	h.signIn(1, "1234")
	h.typeRune('2')
	h.typeString("1234")
	h.key(fyne.KeyReturn)
	h.mustBe("manager", is[*managerScreen](h))
	h.waitFor("the effect lines", func() bool { return h.screenHas("服务效果") })
	h.mustShow("服务效果（2025-08-30 至 2026-08-29，与本店未服务顾客比较）")
	h.mustShow("高血压：服务顾客 90 天覆盖率 +8 个百分点，95 % 区间 +4…+14，n = 212")
	h.mustShow("糖尿病：服务顾客 90 天覆盖率 数据不足（n = 12，至少 30）")
	h.mustShow("高血脂：服务顾客 90 天覆盖率 −3 个百分点，95 % 区间 −5…−1，n = 40")
	fake.mu.Lock()
	from, to, calls := fake.from, fake.to, fake.calls
	fake.mu.Unlock()
	if want := flows.DayOf(testNow) - 89; to != want || from != want-364 {
		t.Errorf("asked for %s … %s, want the year ending %s", from, to, want)
	}
	if calls != 1 {
		t.Fatalf("%d calls opening the view", calls)
	}
	// Reopening the view within the hour does not ask again.
	h.key(fyne.KeyEscape)
	h.typeRune('2')
	h.typeString("1234")
	h.key(fyne.KeyReturn)
	h.mustBe("manager", is[*managerScreen](h))
	h.mustShow("高血压：服务顾客 90 天覆盖率 +8 个百分点")
	fake.mu.Lock()
	calls = fake.calls
	fake.mu.Unlock()
	if calls != 1 {
		t.Errorf("%d calls after reopening within the hour, want 1", calls)
	}
}

// TestManagerEffectFromDemoHQ: the real path — hqclient, the demo HQ's API with the
// store token, the live store report — ends in the manager view's lines.
func TestManagerEffectFromDemoHQ(t *testing.T) {
	h := newHarness(t, harnessOpts{hq: true})
	h.signIn(1, "1234")
	h.typeRune('2')
	h.typeString("1234")
	h.key(fyne.KeyReturn)
	h.mustBe("manager", is[*managerScreen](h))
	h.waitFor("the effect lines", func() bool { return h.screenHas("服务效果") })
	h.mustShow("高血压：服务顾客 90 天覆盖率 数据不足")
}
