// Package starte2e tests the counter's start-up in a real window (Xvfb, GLFW, xdotool;
// kiosk/internal/realwin): a kiosk killed with SIGKILL mid-visit offers the visit again
// at the next sign-in and resumes it with what was entered; a fresh install started
// without any configuration (as the desktop icon starts it) opens the setup screen and
// starts once its live checks pass; a start-up error is shown in the window. The stores
// are the kiosks' real bbolt files.
package starte2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/demo/demohq"
	"github.com/pharmachain/counter/kiosk/internal/realwin"
	"github.com/pharmachain/counter/kiosk/store"
)

// The demo kiosk is killed with SIGKILL while the pharmacist is at step 2 with two
// answers given; started again, the same pharmacist's sign-in offers the visit, Enter
// resumes it at step 2 with both answers, and it finishes as one complete visit.
func TestResumeAfterKill(t *testing.T) {
	realwin.Available(t)
	bin := realwin.Build(t, "github.com/pharmachain/counter/cmd/kiosk-demo")
	display := realwin.Xvfb(t)
	dir := t.TempDir()
	x := realwin.NewX(t, display)
	custB := demo.Customers()[1].ID
	keyB := customerkey.Hash([]byte(demo.Secret), custB).String()

	k := realwin.Start(t, bin, display, dir)
	win := x.WaitWindow("柜台")
	k.WaitLog("screen name=signInScreen")
	signIn := func(k *realwin.Kiosk, win string) {
		m := k.Mark()
		x.Person(win, "1")
		k.WaitLogAfter(m, "screen name=pinScreen")
		x.PersonType(win, "1234")
		x.Person(win, "Return")
		k.WaitLogAfter(m, `signed in" pharmacist=P01`)
	}
	signIn(k, win)
	m := k.Mark()
	x.Scan(win, 1, custB)
	k.WaitLogAfter(m, "history loaded")
	x.Person(win, "Return")
	k.WaitLogAfter(m, "screen name=questionnaireScreen")
	x.Person(win, "1", "2")
	var open flows.Visit
	var before map[string]string
	k.WaitStore("step 1 recorded and a draft of two answers", func(st *store.Store) bool {
		vs, err := st.OpenVisits(context.Background())
		if err != nil || len(vs) != 1 || vs[0].CustomerKey != keyB || vs[0].Identify == nil {
			return false
		}
		b, err := st.Draft(context.Background(), vs[0].ID)
		var d struct{ Answers map[string]string }
		if err != nil || json.Unmarshal(b, &d) != nil || len(d.Answers) != 2 {
			return false
		}
		open, before = vs[0], d.Answers
		return true
	})
	k.Kill() // kill -9: nothing is saved on the way out

	k = realwin.Start(t, bin, display, dir)
	win = x.WaitWindow("柜台")
	k.WaitLog("screen name=signInScreen")
	k.WaitLog(`visit left open by a crash: offered to its pharmacist" visit=` + open.ID)
	k.WaitLog("customer=4405**********0014 step=2")
	signIn(k, win)
	k.WaitLog("screen name=resumeScreen")
	m = k.Mark()
	x.Person(win, "Return")
	k.WaitLogAfter(m, `visit resumed" visit=`+open.ID)
	k.WaitLogAfter(m, "screen name=questionnaireScreen")
	x.Person(win, "1") // the third mandatory question
	m = k.Mark()
	x.Person(win, "Return")
	k.WaitLogAfter(m, "screen name=recommendScreen")
	x.Person(win, "Return")
	k.WaitLogAfter(m, "screen name=followUpScreen")
	x.Person(win, "Return")
	k.WaitLogAfter(m, "screen name=summaryScreen")
	done := k.WaitVisit("the resumed visit, complete", func(v flows.Visit) bool {
		return v.ID == open.ID && v.Outcome == flows.OutcomeComplete
	})
	for q, a := range before {
		if done.Questionnaire.Answers[q] != a {
			t.Fatalf("answer to %s before the kill was %s, recorded %s (answers %v)", q, a, done.Questionnaire.Answers[q], done.Questionnaire.Answers)
		}
	}
	if n := len(k.Visits(func(v flows.Visit) bool { return v.CustomerKey == keyB })); n != 1 {
		t.Fatalf("%d visits for the customer, want the one resumed", n)
	}
}

// The production kiosk on an empty data directory with no flags — as the desktop icon
// starts it — opens the setup screen instead of exiting; the installer enters HQ's
// address, the token and the secret file, each is checked live (HQ reachable, token
// accepted and this store's, secret loads), F5 saves them and the counter starts.
func TestFirstStartSetup(t *testing.T) {
	realwin.Available(t)
	bin := realwin.Build(t, "github.com/pharmachain/counter/cmd/kiosk")
	display := realwin.Xvfb(t)
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	hq, err := demohq.StartHQ(context.Background(), t.TempDir(), dom.Catalog, time.Now(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hq.Stop()
	secret := filepath.Join(t.TempDir(), "chain.secret")
	if err := os.WriteFile(secret, []byte(demo.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	x := realwin.NewX(t, display)
	k := realwin.Start(t, bin, display, dir)
	win := x.WaitWindow("柜台")
	k.WaitLog("screen name=setupScreen")
	k.WaitLog(`setup check" field=secret state=failed text=setup.secret_missing`)
	// The fields, top to bottom: port, HQ, store (S001 already), token, secret. A click
	// is repeated until the field says it has the focus (the first frames of a loaded
	// machine may not have laid the form out yet).
	fill := func(field string, y int, text string) {
		t.Helper()
		for deadline := time.Now().Add(realwin.StepDeadline); ; {
			m := k.Mark()
			x.Click(win, 430, y)
			if k.SeenAfter(m, `setup field focused" field=`+field, 3*time.Second) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the %s field never took the focus", field)
			}
		}
		x.Type(win, text)
	}
	fill("hq", 200, hq.URL)
	fill("token", 310, demo.StoreToken)
	fill("secret", 365, secret)
	for _, l := range []string{`field=hq state=passed`, `field=token state=passed`, `field=store state=passed text=setup.store_roster`,
		`field=secret state=passed`} {
		k.WaitLog(`setup check" ` + l)
	}
	m := k.Mark()
	x.Person(win, "F5")
	k.WaitLogAfter(m, "settings saved by the setup screen")
	k.WaitLogAfter(m, "screen name=signInScreen")
	var cfg counter.Config
	k.WaitStore("the settings saved", func(st *store.Store) bool { return st.LoadConfig(&cfg) == nil })
	if cfg.HQURL != hq.URL || cfg.Token != demo.StoreToken || cfg.SecretFile != secret || cfg.StoreID != demo.StoreID || cfg.Port != "" {
		t.Fatalf("saved settings %+v", cfg)
	}
	k.MustNotLogAfter(0, "start-up failed")
}

// A start-up error (the data directory cannot be made) is shown in the window, not only
// logged; Enter closes the app, which exits 1 with the error on stderr.
func TestStartupErrorShownInWindow(t *testing.T) {
	realwin.Available(t)
	bin := realwin.Build(t, "github.com/pharmachain/counter/cmd/kiosk")
	display := realwin.Xvfb(t)
	notADir := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := realwin.NewX(t, display)
	k := realwin.Start(t, bin, display, notADir)
	win := x.WaitWindow("柜台")
	k.WaitLog("start-up failed")
	k.WaitLog("screen name=failureScreen")
	x.Person(win, "Return")
	if code := k.Exit(); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	found := false
	for _, l := range k.LinesAfter(0) {
		found = found || strings.HasPrefix(l, "kiosk: start-up: data dir:")
	}
	if !found {
		t.Fatal("stderr lacks the start-up error")
	}
}
