package flows

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Data file paths inside a data tree: assets/data (the embedded defaults), a content
// pack, or a directory laid out the same way.
const (
	CatalogFile       = "catalog/drugs.json"
	QuestionnairesDir = "questionnaires" // one <class>.json per class; general.json required
	KnowledgeFile     = "knowledge/kb.json"
	PointsFile        = "rules/points.json"
	MessagesFile      = "messages/followup.json"
)

// dataDirs are the folders of a data tree that hold data files and nothing else.
func dataDirs() []string {
	return []string{"catalog", QuestionnairesDir, "knowledge", "rules", "messages"}
}

// QuestionnaireFile is the path of a class's questionnaire, questionnaires/<class>.json.
func QuestionnaireFile(class string) string { return QuestionnairesDir + "/" + class + ".json" }

// IsDataFile reports whether name is the path of a domain data file.
func IsDataFile(name string) bool {
	switch name {
	case CatalogFile, KnowledgeFile, PointsFile, MessagesFile:
		return true
	}
	dir, file := path.Split(name)
	class, ok := strings.CutSuffix(file, ".json")
	return ok && dir == QuestionnairesDir+"/" && knownClass(class)
}

// RequiredDataFiles lists the files every complete data tree has; a class questionnaire
// other than general is optional (its class then uses general.json).
func RequiredDataFiles() []string {
	return []string{CatalogFile, KnowledgeFile, MessagesFile, QuestionnaireFile(ClassGeneral), PointsFile}
}

// Data is every data file the four steps and the follow-ups need, loaded and
// cross-checked.
type Data struct {
	Catalog        *Catalog
	Questionnaires QuestionnaireSet
	Knowledge      *KnowledgeBase
	Points         PointsRules
	PointsCaps     PointsCaps // daily caps of link points (nil: none)
	Messages       FollowUpMessages
}

// ReadDataFiles reads every domain data file of a tree laid out like assets/data into
// a map path → content. Folders other than the data folders (fonts, translations) are
// not read; a file in a data folder that is not a data file (a typo, a backup copy) is
// an error rather than silently ignored. Hidden files (.DS_Store) are skipped.
func ReadDataFiles(fsys fs.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, dir := range dataDirs() {
		err := fs.WalkDir(fsys, dir, func(name string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && name == dir {
					return fs.SkipDir // an absent folder: its files are reported missing later
				}
				return err
			}
			if strings.HasPrefix(e.Name(), ".") && name != dir {
				if e.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if e.IsDir() {
				if name != dir {
					return &DataError{File: name, Msg: "unexpected folder in a data folder"}
				}
				return nil
			}
			if !IsDataFile(name) {
				return &DataError{File: name, Msg: unknownFileMsg(name)}
			}
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			files[name] = b
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read data files: %w", err)
		}
	}
	return files, nil
}

func unknownFileMsg(name string) string {
	if strings.HasPrefix(name, QuestionnairesDir+"/") {
		return "not a data file (a questionnaire is named after its class: hypertension.json, diabetes.json, hyperlipidemia.json or general.json)"
	}
	return fmt.Sprintf("not a data file (the data files are %s and questionnaires/<class>.json)",
		strings.Join([]string{CatalogFile, KnowledgeFile, PointsFile, MessagesFile}, ", "))
}

// LoadData reads the data files of a tree laid out like assets/data (assets.FS(), or
// os.DirFS of a directory) and loads them with ParseData.
func LoadData(fsys fs.FS) (Data, error) {
	files, err := ReadDataFiles(fsys)
	if err != nil {
		return Data{}, err
	}
	return ParseData(files)
}

// ParseData is the one loader of the domain data files: it parses each file strictly
// (unknown fields, duplicate keys and unknown files refused) and cross-checks them:
// every questionnaire is named after its class, every knowledge-base answers condition
// names a question and choices that exist, the reminder template renders with the
// knowledge base's titles. It reports the first problem of every file it could not
// load (errors.Join of *DataError, each naming its file and field; see DataErrors),
// then the cross-check problems.
func ParseData(files map[string][]byte) (Data, error) {
	var d Data
	var errs []error
	fail := func(file string, err error) { errs = append(errs, inFile(err, file)) }

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !IsDataFile(name) {
			fail(name, errors.New(unknownFileMsg(name)))
		}
	}
	for _, name := range RequiredDataFiles() {
		if _, ok := files[name]; !ok {
			fail(name, errors.New("missing (every data tree needs it)"))
		}
	}

	var err error
	if b, ok := files[CatalogFile]; ok {
		if d.Catalog, err = LoadCatalog(b); err != nil {
			fail(CatalogFile, err)
		}
	}
	var qs []Questionnaire
	qsOK := true
	for _, name := range names {
		if !IsDataFile(name) || !strings.HasPrefix(name, QuestionnairesDir+"/") {
			continue
		}
		q, err := ParseQuestionnaire(files[name])
		if err != nil {
			fail(name, err)
			qsOK = false
			continue
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); q.Class != want {
			fail(name, fieldErr("class", "", "is %q, but this file holds the %q questionnaire (name the file after its class)", q.Class, want))
			qsOK = false
			continue
		}
		qs = append(qs, q)
	}
	if qsOK && files[QuestionnaireFile(ClassGeneral)] != nil {
		if d.Questionnaires, err = NewQuestionnaireSet(qs...); err != nil {
			fail(QuestionnairesDir, err)
			qsOK = false
		}
	} else {
		qsOK = false
	}
	if b, ok := files[KnowledgeFile]; ok {
		if d.Knowledge, err = LoadKnowledgeBase(b); err != nil {
			fail(KnowledgeFile, err)
		}
	}
	if b, ok := files[PointsFile]; ok {
		if d.Points, d.PointsCaps, err = LoadPoints(b); err != nil {
			fail(PointsFile, err)
		}
	}
	if b, ok := files[MessagesFile]; ok {
		if d.Messages, err = LoadFollowUpMessages(b, longestTitles(d.Knowledge)); err != nil {
			fail(MessagesFile, err)
		}
	}
	// Cross-checks between files that loaded.
	if d.Knowledge != nil && qsOK {
		if err := d.Knowledge.CheckAgainst(d.Questionnaires); err != nil {
			fail(KnowledgeFile, err)
		}
	}
	if d.Knowledge != nil && d.Catalog != nil {
		if err := d.Knowledge.CheckProducts(d.Catalog); err != nil {
			fail(KnowledgeFile, err)
		}
	}
	if len(errs) > 0 {
		return Data{}, errors.Join(errs...)
	}
	return d, nil
}

// longestTitles are the two longest knowledge-base titles (what a reminder listing the
// accepted items can grow to); nil without a knowledge base.
func longestTitles(kb *KnowledgeBase) []string {
	if kb == nil {
		return nil
	}
	var titles []string
	for _, it := range kb.Items {
		titles = append(titles, it.Title)
	}
	sort.SliceStable(titles, func(i, j int) bool { return len(titles[i]) > len(titles[j]) })
	if len(titles) > RecommendationsPerVisit {
		titles = titles[:RecommendationsPerVisit]
	}
	return titles
}

// DataErrors returns every *DataError in err (ParseData joins one per problem file), in
// order; nil if there is none.
func DataErrors(err error) []*DataError {
	var out []*DataError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if de, ok := e.(*DataError); ok {
			out = append(out, de)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
