package flows

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// embeddedFiles returns a fresh copy of the embedded data files.
func embeddedFiles(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := ReadDataFiles(assetFS)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestLoadDataEmbedded(t *testing.T) {
	files := embeddedFiles(t)
	for _, want := range append(RequiredDataFiles(), QuestionnaireFile(ClassHypertension), QuestionnaireFile(ClassDiabetes), QuestionnaireFile(ClassHyperlipidemia)) {
		if files[want] == nil {
			t.Errorf("embedded tree lacks %s", want)
		}
	}
	if len(files) != 8 {
		t.Errorf("read %d data files, want 8 (fonts, translations and the icon are not data files): %v", len(files), sortedKeys(files))
	}
	d, err := LoadData(assetFS)
	if err != nil {
		t.Fatal(err)
	}
	if d.Catalog.Len() < 35 || !d.Questionnaires.Has(ClassDiabetes) || len(d.Knowledge.Items) < 10 || d.Points[PointsRevisitBooked] != 3 {
		t.Fatalf("LoadData %+v", d)
	}
	if d.Messages.Reminder == "" || d.Messages.LinkTitle == "" || d.Messages.LinkDesc == "" {
		t.Errorf("messages/followup.json = %+v", d.Messages)
	}
	// A tree with only some class questionnaires is complete.
	delete(files, QuestionnaireFile(ClassDiabetes))
	d, err = ParseData(files)
	if err != nil {
		t.Fatal(err)
	}
	if d.Questionnaires.Has(ClassDiabetes) || d.Questionnaires.For(ClassDiabetes).Class != ClassGeneral {
		t.Error("diabetes should fall back to the general questionnaire")
	}
}

// loadErr runs ParseData on the embedded files with one file replaced (nil: removed)
// and returns its single DataError.
func loadErr(t *testing.T, name string, data []byte) *DataError {
	t.Helper()
	files := embeddedFiles(t)
	if data == nil {
		delete(files, name)
	} else {
		files[name] = data
	}
	_, err := ParseData(files)
	des := DataErrors(err)
	if len(des) != 1 {
		t.Fatalf("%s: want one DataError, got %v", name, err)
	}
	return des[0]
}

func TestParseDataErrorsNameFileAndField(t *testing.T) {
	emb := embeddedFiles(t)
	edit := func(name, old, new string) []byte {
		s := string(emb[name])
		if !strings.Contains(s, old) {
			t.Fatalf("%s has no %q", name, old)
		}
		return []byte(strings.Replace(s, old, new, 1))
	}
	hyp := QuestionnaireFile(ClassHypertension)
	cases := []struct {
		name        string
		data        []byte
		file, field string
		line        int
		msg         string
	}{
		// A recommendation naming an unknown question (the cross-check).
		{KnowledgeFile, edit(KnowledgeFile, `"home_monitor"`, `"home_monitr"`), KnowledgeFile, "items[5].rules[0].answers.home_monitr", 0, `has question "home_monitr"`},
		// … or a choice the question does not have.
		{KnowledgeFile, edit(KnowledgeFile, `"yes_old"`, `"yes_ancient"`), KnowledgeFile, "items[5].rules[0].answers.home_monitor", 0, `no choice "yes_ancient"`},
		// Strict JSON: duplicate keys, unknown fields, wrong types, syntax.
		{hyp, edit(hyp, `"title": "`, `"title": "x", "title": "`), hyp, "title", 4, `duplicate key "title"`},
		{hyp, edit(hyp, `"mandatory": true`, `"mandatory": true, "required": true`), hyp, "questions[0].required", 0, `unknown field "required"`},
		{hyp, edit(hyp, `"mandatory": true`, `"mandatory": "yes"`), hyp, "questions[0].mandatory", 0, "want true or false, got a string"},
		{PointsFile, []byte("{\"visit_complete\": 1,\n \"link_opened\": 2,\n \"revisit_booked\": 3,\n \"link_opened\": 5}"), PointsFile, "link_opened", 4, "duplicate key"},
		{PointsFile, []byte("{\"visit_complete\": 1,\n \"link_opened\": 2,,\n}"), PointsFile, "", 2, "not valid JSON"},
		{PointsFile, []byte("{\"visit_complete\": 1, \"link_opened\": 2, \"revisit_booked\": 3.5}"), PointsFile, "revisit_booked", 1, "does not fit (want a whole number)"},
		{CatalogFile, []byte("[\n{\"code\":\"X1\",\"name\":\"a\",\"atc\":\"C08\",\n \"pack_days\":7}]"), CatalogFile, "[0].pack_days", 3, "unknown field"},
		{MessagesFile, []byte("{\"reminder\":\"a\xff\",\"link_title\":\"t\",\"link_desc\":\"d\"}"), MessagesFile, "", 1, "not UTF-8"},
		// The questionnaire file is named after its class.
		{hyp, edit(hyp, `"class": "hypertension"`, `"class": "diabetes"`), hyp, "class", 0, `this file holds the "hypertension" questionnaire`},
		// Message templates render with FollowUpData and fit WeCom's limits.
		{MessagesFile, []byte(`{"reminder":"{{.Name}}您好","link_title":"t","link_desc":"d"}`), MessagesFile, "reminder", 0, "can't evaluate field Name"},
		{MessagesFile, []byte(`{"reminder":"{{if .Accepted}}","link_title":"t","link_desc":"d"}`), MessagesFile, "reminder", 0, "unexpected EOF"},
		{MessagesFile, []byte(`{"reminder":"r","link_title":"` + strings.Repeat("复诊", 30) + `","link_desc":"d"}`), MessagesFile, "link_title", 0, "180 bytes, at most 128"},
		{MessagesFile, []byte(`{"reminder":"r","link_title":"t"}`), MessagesFile, "link_desc", 0, "is empty"},
		// Files.
		{"knowledge/kb.json.bak", []byte(`{}`), "knowledge/kb.json.bak", "", 0, "not a data file"},
		{"questionnaires/asthma.json", []byte(`{}`), "questionnaires/asthma.json", "", 0, "named after its class"},
		{PointsFile, nil, PointsFile, "", 0, "missing"},
		{QuestionnaireFile(ClassGeneral), nil, QuestionnaireFile(ClassGeneral), "", 0, "missing"},
	}
	for i, c := range cases {
		de := loadErr(t, c.name, c.data)
		if de.File != c.file || de.Field != c.field || (c.line != 0 && de.Line != c.line) || !strings.Contains(de.Msg, c.msg) {
			t.Errorf("case %d: got file %q field %q line %d msg %q (%v)\nwant file %q field %q line %d msg ~%q",
				i, de.File, de.Field, de.Line, de.Msg, de, c.file, c.field, c.line, c.msg)
		}
		if !strings.HasPrefix(de.Error(), c.file) {
			t.Errorf("case %d: %q does not start with the file name", i, de.Error())
		}
	}
}

func TestParseDataReportsEveryBrokenFile(t *testing.T) {
	files := embeddedFiles(t)
	files[CatalogFile] = []byte(`[`)
	files[PointsFile] = []byte(`{"visit_complete":1}`)
	files[MessagesFile] = []byte(`{"reminder":"","link_title":"t","link_desc":"d"}`)
	_, err := ParseData(files)
	des := DataErrors(err)
	var got []string
	for _, de := range des {
		got = append(got, de.File)
	}
	if strings.Join(got, ",") != CatalogFile+","+PointsFile+","+MessagesFile {
		t.Fatalf("files named: %v (%v)", got, err)
	}
	var de *DataError
	if !errors.As(err, &de) || de.File != CatalogFile {
		t.Errorf("errors.As finds %v", de)
	}
	if !strings.Contains(err.Error(), "rules/points.json: field link_opened: is missing") {
		t.Errorf("joined error: %v", err)
	}
}

func TestReadDataFiles(t *testing.T) {
	kb, _ := fs.ReadFile(assetFS, KnowledgeFile)
	fsys := fstest.MapFS{
		"fonts/x.ttf":             {Data: []byte("font")},
		"translations/en.json":    {Data: []byte(`{}`)},
		"README.txt":              {Data: []byte("notes")},
		KnowledgeFile:             {Data: kb},
		"knowledge/.DS_Store":     {Data: []byte("finder")},
		"questionnaires/.swp/x":   {Data: []byte("editor")},
		"messages/followup.json":  {Data: []byte(`{}`)},
		"catalog/old/drugs.json":  {Data: []byte(`[]`)},
		"questionnaires/asthma.x": {Data: []byte(`{}`)},
	}
	_, err := ReadDataFiles(fsys)
	if err == nil || !strings.Contains(err.Error(), "catalog/old") {
		t.Fatalf("nested folder in a data folder: %v", err)
	}
	delete(fsys, "catalog/old/drugs.json")
	if _, err = ReadDataFiles(fsys); err == nil || !strings.Contains(err.Error(), "questionnaires/asthma.x: not a data file") {
		t.Fatalf("stray file: %v", err)
	}
	delete(fsys, "questionnaires/asthma.x")
	files, err := ReadDataFiles(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(sortedKeys(files), ",") != KnowledgeFile+","+MessagesFile {
		t.Errorf("read %v", sortedKeys(files))
	}
	// LoadData names what the tree lacks.
	_, err = LoadData(fsys)
	for _, want := range []string{CatalogFile + ": missing", PointsFile + ": missing", "questionnaires/general.json: missing", MessagesFile + ": field reminder: is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadData: %v, want %q", err, want)
		}
	}
}

func TestDecodeStrictBOM(t *testing.T) {
	files := embeddedFiles(t)
	files[PointsFile] = append([]byte("\xef\xbb\xbf"), files[PointsFile]...)
	if _, err := ParseData(files); err != nil {
		t.Fatalf("a UTF-8 byte-order mark (Notepad) must be accepted: %v", err)
	}
}

func FuzzParseData(f *testing.F) {
	emb := embeddedFiles(f)
	f.Add(emb[KnowledgeFile], emb[QuestionnaireFile(ClassHypertension)], emb[MessagesFile])
	f.Fuzz(func(t *testing.T, kb, hyp, msg []byte) {
		files := embeddedFiles(t)
		files[KnowledgeFile], files[QuestionnaireFile(ClassHypertension)], files[MessagesFile] = kb, hyp, msg
		d, err := ParseData(files)
		if err != nil {
			for _, de := range DataErrors(err) {
				if de.File == "" || de.Msg == "" {
					t.Fatalf("DataError without file or message: %#v", de)
				}
			}
			if len(DataErrors(err)) == 0 {
				t.Fatalf("error without a DataError: %v", err)
			}
			return
		}
		// Loaded data keeps the cross-file promise: every rule's question exists.
		if err := d.Knowledge.CheckAgainst(d.Questionnaires); err != nil {
			t.Fatal(err)
		}
	})
}

func TestParseDataProductCodesInCatalog(t *testing.T) {
	emb := embeddedFiles(t)
	kb := strings.Replace(string(emb[KnowledgeFile]), `"product_codes": [`, `"product_codes": ["6900000000008",`, 1)
	de := loadErr(t, KnowledgeFile, []byte(kb))
	if de.File != KnowledgeFile || !strings.HasSuffix(de.Field, ".product_codes[0]") || !strings.Contains(de.Msg, `"6900000000008" is not in the catalog`) {
		t.Fatalf("unknown product code: %v", de)
	}
}
