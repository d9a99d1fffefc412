package demohq

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/sync/wire"
)

type safeBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *safeBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func call(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+demo.StoreToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestDemoHQPrintsFollowUpLinks: the `make run` HQ prints each new visit's tracked link at
// once (log-only channel), a click earns the pharmacist the link points, and old demo
// visits do not flood the terminal with links.
func TestDemoHQPrintsFollowUpLinks(t *testing.T) {
	data, err := flows.LoadData(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var links safeBuf
	h, err := StartHQ(context.Background(), t.TempDir(), data.Catalog, now, nil, &links)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	old, err := demo.Visits(data.Questionnaires, data.Knowledge, now.Add(-10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	fresh := flows.NewVisit("01DEMOHQFRESHVISIT00000001", demo.StoreID, "P02", flows.Customer{Key: "0123456789abcdef0123456789abcdef"}, now)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(flows.RecordIdentify(&fresh, flows.Analysis{AsOf: flows.DayOf(now)}, false, now))
	q := data.Questionnaires.For(flows.ClassDiabetes)
	answers := map[string]string{}
	for _, qq := range q.Questions {
		if qq.Mandatory {
			answers[qq.ID] = qq.Choices[0].ID
		}
	}
	must(flows.RecordAnswers(&fresh, q, answers, now))
	recs, err := data.Knowledge.Recommend(flows.ClassDiabetes, flows.LevelOK, answers, flows.ReasonWords{})
	must(err)
	no := false
	for i := range recs {
		recs[i].Accepted = &no
	}
	must(flows.RecordRecommendations(&fresh, recs, now))
	policy := flows.DefaultFollowUpPolicy()
	policy.Text = data.Messages.Reminder
	must(flows.RecordFollowUp(&fresh, map[string]bool{flows.ChannelWeCom: true}, policy, now))
	if code, b := call(t, "POST", h.URL+wire.PathRecords, wire.RecordsRequest{StoreID: demo.StoreID, Records: append(old, fresh)}); code != 200 {
		t.Fatalf("records: %d %s", code, b)
	}
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/f/[A-Za-z0-9_-]+`)
	var found []string
	for deadline := time.Now().Add(30 * time.Second); len(found) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		found = re.FindAllString(links.String(), -1) // the running dispatcher prints it
	}
	// One more whole dispatcher round, run here once the background one has stopped:
	// the old visits' follow-ups must stay quiet.
	h.hq.Stop()
	if _, err := h.hq.Dispatcher().DispatchDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	found = re.FindAllString(links.String(), -1)
	if len(found) != 1 {
		t.Fatalf("%d links printed, want exactly the fresh visit's:\n%s", len(found), links.String())
	}
	points := func() int {
		_, b := call(t, "GET", h.URL+wire.PathPoints+"?pharmacist_id=P02", nil)
		var pr wire.PointsResponse
		must(json.Unmarshal(b, &pr))
		n := 0
		for _, r := range pr.Rows {
			n += r.Points
		}
		return n
	}
	before := points()
	if code, _ := call(t, "GET", found[0], nil); code != 200 {
		t.Fatalf("link: %d", code)
	}
	if got := points(); got != before+flows.DefaultPointsRules()[flows.PointsLinkOpened] {
		t.Fatalf("points %d → %d after the click", before, got)
	}
}
