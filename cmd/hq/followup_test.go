package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

// completedVisit walks the four steps with consent for WeCom follow-ups.
func completedVisit(t *testing.T, id string, now time.Time) flows.Visit {
	t.Helper()
	data, err := flows.LoadData(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	v := flows.NewVisit(id, DemoStoreID, "P01", flows.Customer{Key: strings.Repeat("ab", 16)}, now)
	if err := flows.RecordIdentify(&v, flows.Analysis{AsOf: flows.DayOf(now)}, false, now); err != nil {
		t.Fatal(err)
	}
	q := data.Questionnaires.For(flows.ClassHypertension)
	answers := map[string]string{}
	for _, qq := range q.Questions {
		if qq.Mandatory {
			answers[qq.ID] = qq.Choices[0].ID
		}
	}
	if err := flows.RecordAnswers(&v, q, answers, now); err != nil {
		t.Fatal(err)
	}
	recs, err := data.Knowledge.Recommend(flows.ClassHypertension, flows.LevelYellow, answers, flows.ReasonWords{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	for i := range recs {
		recs[i].Accepted = &yes
	}
	if err := flows.RecordRecommendations(&v, recs, now); err != nil {
		t.Fatal(err)
	}
	policy := flows.DefaultFollowUpPolicy()
	policy.Text = data.Messages.Reminder
	if err := flows.RecordFollowUp(&v, map[string]bool{flows.ChannelWeCom: true}, policy, now); err != nil {
		t.Fatal(err)
	}
	return v
}

func pointsOf(t *testing.T, base, pharmacist string) int {
	t.Helper()
	code, b := get(t, base+wire.PathPoints+"?store_id="+DemoStoreID+"&pharmacist_id="+pharmacist, DemoStoreToken)
	var pr wire.PointsResponse
	if code != 200 || json.Unmarshal(b, &pr) != nil {
		t.Fatalf("points %d %s", code, b)
	}
	total := 0
	for _, r := range pr.Rows {
		total += r.Points
	}
	return total
}

// TestServeFollowUpLinkEarnsPoints: a visit with consent reaches `hq serve --demo`, the
// dispatcher prints its tracked link, the first open earns the pharmacist the link
// points once, and the dashboard, follow-up and audit routes are mounted.
func TestServeFollowUpLinkEarnsPoints(t *testing.T) {
	h := startDemoServe(t, t.TempDir(), 100*time.Millisecond)
	base, out, errb := h.base, h.out, h.errb
	before := pointsOf(t, base, "P01")

	v := completedVisit(t, "01JDEMOFOLLOWUP0000000001", time.Now())
	body, _ := json.Marshal(wire.RecordsRequest{StoreID: DemoStoreID, Records: []flows.Visit{v}})
	req, _ := http.NewRequest("POST", base+wire.PathRecords, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+DemoStoreToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("records: %d", resp.StatusCode)
	}

	linkRE := regexp.MustCompile(`http://[0-9.:]+/f/[A-Za-z0-9_-]+`)
	var link string
	for deadline := time.Now().Add(15 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		link = linkRE.FindString(out.String())
	}
	if link == "" {
		t.Fatalf("no follow-up link printed:\n%s\n%s", out.String(), errb.String())
	}
	if !strings.HasPrefix(link, base) {
		t.Fatalf("link %s does not point at this HQ %s", link, base)
	}
	afterVisit := pointsOf(t, base, "P01")
	code, page := get(t, link, "")
	if code != 200 || !strings.Contains(string(page), "预约") {
		t.Fatalf("link page %d:\n%s", code, page)
	}
	if strings.Contains(string(page), v.CustomerKey) {
		t.Fatal("the link page reveals the customer key")
	}
	afterClick := pointsOf(t, base, "P01")
	get(t, link, "") // a repeated click earns nothing
	afterRepeat := pointsOf(t, base, "P01")
	rules := flows.DefaultPointsRules()
	if afterVisit-before != rules[flows.PointsVisitComplete] || afterClick-afterVisit != rules[flows.PointsLinkOpened] || afterRepeat != afterClick {
		t.Fatalf("points: before %d, after visit %d, after click %d, after repeat %d", before, afterVisit, afterClick, afterRepeat)
	}

	if code, _ := get(t, base+"/api/v1/followups?status=overdue&store_id="+DemoStoreID, ""); code != 401 {
		t.Errorf("followups without token: %d, want 401", code)
	}
	if code, b := get(t, base+"/api/v1/followups?status=overdue&store_id="+DemoStoreID, DemoStoreToken); code != 200 {
		t.Errorf("followups with store token: %d %s", code, b)
	}
	if code, _ := get(t, base+"/api/v1/audit", DemoStoreToken); code != 403 {
		t.Errorf("audit with a store token: %d, want 403", code)
	}
	if code, b := get(t, base+"/api/v1/audit", DemoAdminToken); code != 200 || !strings.Contains(string(b), "click") {
		t.Errorf("audit with the admin token: %d %s", code, b)
	}
	if code, b := get(t, base+"/", ""); code != 200 || !strings.Contains(string(b), "<form") {
		t.Errorf("dashboard sign-in page: %d", code)
	}
	h.stop(t)
}
