package api

import "github.com/pharmachain/counter/flows"

// The fast path's decoders of a visit and a purchase (see fastjson.go), one per type,
// keyed by the exact JSON field names of flows' struct tags. A field added to one of
// these flows types and not here sends every record carrying it down the strict path
// (correct, only slower): TestFastJSONKnowsEveryField fails until it is added.

// decodeVisitJSON decodes one record into v (a zero Visit), or reports false.
func decodeVisitJSON(data []byte, v *flows.Visit) bool {
	r := jsonReader{b: data}
	return r.visit(v) && r.end()
}

// decodePurchaseJSON decodes one purchase into p (a zero Purchase), or reports false.
func decodePurchaseJSON(data []byte, p *flows.Purchase) bool {
	r := jsonReader{b: data}
	return r.purchase(p) && r.end()
}

func (r *jsonReader) visit(v *flows.Visit) bool {
	if r.null() {
		return true
	}
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "id":
			return r.str(&v.ID)
		case "store_id":
			return r.str(&v.StoreID)
		case "pharmacist_id":
			return r.str(&v.PharmacistID)
		case "customer_key":
			return r.str(&v.CustomerKey)
		case "customer_masked":
			return r.str(&v.CustomerMasked)
		case "started_at":
			return r.time(&v.StartedAt)
		case "updated_at":
			return r.time(&v.UpdatedAt)
		case "ended_at":
			return r.time(&v.EndedAt)
		case "outcome":
			return r.str(&v.Outcome)
		case "abandon_reason":
			return r.str(&v.AbandonReason)
		case "content_version":
			return r.int(&v.ContentVersion)
		case "identify":
			if r.null() {
				return true
			}
			v.Identify = new(flows.IdentifyStep)
			return r.identify(v.Identify)
		case "questionnaire":
			if r.null() {
				return true
			}
			v.Questionnaire = new(flows.QuestionnaireStep)
			return r.questionnaire(v.Questionnaire)
		case "recommend":
			if r.null() {
				return true
			}
			v.Recommend = new(flows.RecommendStep)
			return r.recommend(v.Recommend)
		case "followup":
			if r.null() {
				return true
			}
			v.FollowUp = new(flows.FollowUpStep)
			return r.followUpStep(v.FollowUp)
		}
		return false
	})
}

func (r *jsonReader) identify(s *flows.IdentifyStep) bool {
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "at":
			return r.time(&s.At)
		case "as_of":
			return r.day(&s.AsOf)
		case "offline":
			return r.bool(&s.Offline)
		case "adherence":
			if r.null() {
				return true
			}
			s.Adherence = []flows.ClassResult{}
			return r.array(func() bool {
				s.Adherence = append(s.Adherence, flows.ClassResult{})
				return r.classResult(&s.Adherence[len(s.Adherence)-1])
			})
		}
		return false
	})
}

func (r *jsonReader) classResult(c *flows.ClassResult) bool {
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "class":
			return r.str(&c.Class)
		case "pdc":
			return r.float(&c.PDC)
		case "covered_days":
			return r.int(&c.CoveredDays)
		case "period_days":
			return r.int(&c.PeriodDays)
		case "period_start":
			return r.day(&c.PeriodStart)
		case "days_without_supply":
			return r.int(&c.DaysWithoutSupply)
		case "fills":
			return r.int(&c.Fills)
		case "level":
			return r.str(&c.Level)
		case "fill_ids":
			return r.strings(&c.FillIDs)
		case "uncounted":
			return r.strings(&c.Uncounted)
		case "lookback_days":
			return r.int(&c.LookbackDays)
		}
		return false
	})
}

func (r *jsonReader) questionnaire(s *flows.QuestionnaireStep) bool {
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "at":
			return r.time(&s.At)
		case "class":
			return r.str(&s.Class)
		case "answers":
			if r.null() {
				return true
			}
			s.Answers = map[string]string{}
			return r.object(func(q []byte) bool {
				var a string
				if !r.str(&a) {
					return false
				}
				s.Answers[string(q)] = a
				return true
			})
		}
		return false
	})
}

func (r *jsonReader) recommend(s *flows.RecommendStep) bool {
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "at":
			return r.time(&s.At)
		case "items":
			if r.null() {
				return true
			}
			s.Items = []flows.Recommendation{}
			return r.array(func() bool {
				s.Items = append(s.Items, flows.Recommendation{})
				return r.recommendation(&s.Items[len(s.Items)-1])
			})
		}
		return false
	})
}

func (r *jsonReader) recommendation(it *flows.Recommendation) bool {
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "id":
			return r.str(&it.ID)
		case "title":
			return r.str(&it.Title)
		case "reason":
			return r.str(&it.Reason)
		case "accepted":
			return r.boolp(&it.Accepted)
		case "title_en":
			return r.str(&it.TitleEn)
		case "reason_en":
			return r.str(&it.ReasonEn)
		}
		return false
	})
}

func (r *jsonReader) followUpStep(s *flows.FollowUpStep) bool {
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "at":
			return r.time(&s.At)
		case "consent":
			if r.null() {
				return true
			}
			s.Consent = map[string]bool{}
			return r.object(func(ch []byte) bool {
				var b bool
				if !r.bool(&b) {
					return false
				}
				s.Consent[string(ch)] = b
				return true
			})
		case "declined":
			return r.bool(&s.Declined)
		case "scheduled":
			if r.null() {
				return true
			}
			s.FollowUp = new(flows.FollowUp)
			return r.followUp(s.FollowUp)
		}
		return false
	})
}

func (r *jsonReader) followUp(f *flows.FollowUp) bool {
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "id":
			return r.str(&f.ID)
		case "visit_id":
			return r.str(&f.VisitID)
		case "store_id":
			return r.str(&f.StoreID)
		case "pharmacist_id":
			return r.str(&f.PharmacistID)
		case "customer_key":
			return r.str(&f.CustomerKey)
		case "channel":
			return r.str(&f.Channel)
		case "due_at":
			return r.time(&f.DueAt)
		case "text":
			return r.str(&f.Text)
		case "consent":
			return r.bool(&f.Consent)
		}
		return false
	})
}

func (r *jsonReader) purchase(p *flows.Purchase) bool {
	if r.null() {
		return true
	}
	return r.object(func(k []byte) bool {
		switch string(k) {
		case "id":
			return r.str(&p.ID)
		case "customer_key":
			return r.str(&p.CustomerKey)
		case "store_id":
			return r.str(&p.StoreID)
		case "sold_at":
			return r.time(&p.SoldAt)
		case "drug_code":
			return r.str(&p.DrugCode)
		case "name":
			return r.str(&p.Name)
		case "ingredient":
			return r.str(&p.Ingredient)
		case "atc":
			return r.str(&p.ATC)
		case "quantity":
			return r.float(&p.Quantity)
		case "days_supply":
			return r.int(&p.DaysSupply)
		case "amount_fen":
			return r.int64p(&p.AmountFen)
		case "receipt_id":
			return r.str(&p.ReceiptID)
		case "kind":
			return r.str(&p.Kind)
		}
		return false
	})
}
