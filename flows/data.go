package flows

import (
	"fmt"
	"io/fs"
)

// Default data file locations inside an asset tree (assets.FS() or a chain's override
// directory with the same layout).
const (
	CatalogFile       = "catalog/drugs.json"
	QuestionnairesDir = "questionnaires"
	KnowledgeFile     = "knowledge/kb.json"
	PointsFile        = "rules/points.json"
)

// Data is every data file the four steps need.
type Data struct {
	Catalog        *Catalog
	Questionnaires QuestionnaireSet
	Knowledge      *KnowledgeBase
	Points         PointsRules
}

// LoadData loads and cross-checks the catalog, questionnaires, knowledge base and points
// rules from an asset tree laid out like assets/data: the knowledge base's rules must
// name questions the questionnaires have, and its product codes must be in the catalog.
// Errors name the file.
func LoadData(fsys fs.FS) (Data, error) {
	var d Data
	b, err := fs.ReadFile(fsys, CatalogFile)
	if err != nil {
		return Data{}, fmt.Errorf("load data: %w", err)
	}
	if d.Catalog, err = LoadCatalog(b); err != nil {
		return Data{}, fmt.Errorf("%s: %w", CatalogFile, err)
	}
	if d.Questionnaires, err = LoadQuestionnaires(fsys, QuestionnairesDir); err != nil {
		return Data{}, err
	}
	if b, err = fs.ReadFile(fsys, KnowledgeFile); err != nil {
		return Data{}, fmt.Errorf("load data: %w", err)
	}
	if d.Knowledge, err = LoadKnowledgeBase(b); err != nil {
		return Data{}, fmt.Errorf("%s: %w", KnowledgeFile, err)
	}
	if err = d.Knowledge.CheckAgainst(d.Questionnaires); err != nil {
		return Data{}, fmt.Errorf("%s: %w", KnowledgeFile, err)
	}
	if err = d.Knowledge.CheckProducts(d.Catalog); err != nil {
		return Data{}, fmt.Errorf("%s vs %s: %w", KnowledgeFile, CatalogFile, err)
	}
	if b, err = fs.ReadFile(fsys, PointsFile); err != nil {
		return Data{}, fmt.Errorf("load data: %w", err)
	}
	if d.Points, err = LoadPointsRules(b); err != nil {
		return Data{}, fmt.Errorf("%s: %w", PointsFile, err)
	}
	return d, nil
}
