package kiosk

import (
	"fmt"
	"io/fs"

	"github.com/pharmachain/counter/flows"
)

// Domain is the embedded (or overridden) domain data the counter needs.
type Domain struct {
	Catalog        *flows.Catalog
	Drugs          []flows.Drug
	Questionnaires flows.QuestionnaireSet
	KB             *flows.KnowledgeBase
	Points         flows.PointsRules
}

// LoadDomain reads the catalog, questionnaires, knowledge base and points rules from an
// asset tree laid out like assets/data (assets.FS(), or os.DirFS of an override dir).
func LoadDomain(fsys fs.FS) (Domain, error) {
	var d Domain
	b, err := fs.ReadFile(fsys, "catalog/drugs.json")
	if err != nil {
		return d, fmt.Errorf("catalog: %w", err)
	}
	if d.Catalog, err = flows.LoadCatalog(b); err != nil {
		return d, fmt.Errorf("catalog: %w", err)
	}
	d.Drugs = d.Catalog.All()
	if d.Questionnaires, err = flows.LoadQuestionnaires(fsys, "questionnaires"); err != nil {
		return d, fmt.Errorf("questionnaires: %w", err)
	}
	if b, err = fs.ReadFile(fsys, "knowledge/kb.json"); err != nil {
		return d, fmt.Errorf("knowledge base: %w", err)
	}
	if d.KB, err = flows.LoadKnowledgeBase(b); err != nil {
		return d, fmt.Errorf("knowledge base: %w", err)
	}
	if err := d.KB.CheckAgainst(d.Questionnaires); err != nil {
		return d, fmt.Errorf("knowledge base: %w", err)
	}
	if err := d.KB.CheckProducts(d.Catalog); err != nil {
		return d, fmt.Errorf("knowledge base: %w", err)
	}
	d.Points = flows.DefaultPointsRules()
	if b, err = fs.ReadFile(fsys, "rules/points.json"); err == nil {
		if d.Points, err = flows.LoadPointsRules(b); err != nil {
			return d, fmt.Errorf("points rules: %w", err)
		}
	}
	return d, nil
}
