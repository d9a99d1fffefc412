// Package content is the content pack: the domain data files a chain's operations team
// edits without a new kiosk build — drug catalog, questionnaires, knowledge base, points
// rules and follow-up messages, the same files as assets/data — as one unit with a
// canonical content hash, validated by the same loader the kiosk uses
// (flows.ParseData), and a readable diff between two packs.
//
// HQ keeps packs as immutable numbered versions (1, 2, …); version 0 is the default
// embedded in the binaries (FromFS(assets.FS())). A Pack is a value: every method that
// changes it returns a new one.
package content

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pharmachain/counter/flows"
)

// DefaultVersion is the number of the embedded default pack.
const DefaultVersion = 0

// hashPrefix starts every content hash; hashDomain is the first thing hashed, so a
// change of the canonical form changes every hash.
const (
	hashPrefix = "sha256:"
	hashDomain = "pharmachain content pack v1\n"
)

// Pack is a set of domain data files, path (as in assets/data, e.g. knowledge/kb.json)
// → content. The zero Pack is empty.
type Pack struct {
	files map[string][]byte
}

// New builds a pack from a map of files (copied). Every name must be a data file path
// (flows.IsDataFile); the contents are not checked here — Validate does that.
func New(files map[string][]byte) (Pack, error) {
	p := Pack{files: make(map[string][]byte, len(files))}
	for name, b := range files {
		if !flows.IsDataFile(name) {
			return Pack{}, &flows.DataError{File: name, Msg: "not a data file"}
		}
		p.files[name] = bytes.Clone(b)
	}
	return p, nil
}

// FromFS reads the data files of a tree laid out like assets/data (assets.FS() for
// version 0, os.DirFS of a directory); other folders (fonts, translations) are ignored,
// a stray file in a data folder is an error.
func FromFS(fsys fs.FS) (Pack, error) {
	files, err := flows.ReadDataFiles(fsys)
	if err != nil {
		return Pack{}, err
	}
	return Pack{files: files}, nil
}

// FromDir is FromFS of a directory.
func FromDir(dir string) (Pack, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Pack{}, fmt.Errorf("content folder: %w", err)
	}
	if !st.IsDir() {
		return Pack{}, fmt.Errorf("content folder %s: not a folder", dir)
	}
	return FromFS(os.DirFS(dir))
}

// WriteDir writes the pack's files under dir (folders created as needed), e.g. to edit a
// version's files and publish them again.
func (p Pack) WriteDir(dir string) error {
	for _, name := range p.Names() {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write content: %w", err)
		}
		if err := os.WriteFile(full, p.files[name], 0o644); err != nil {
			return fmt.Errorf("write content: %w", err)
		}
	}
	return nil
}

// Names lists the pack's file paths, sorted.
func (p Pack) Names() []string {
	names := make([]string, 0, len(p.files))
	for n := range p.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len is the number of files.
func (p Pack) Len() int { return len(p.files) }

// File returns a copy of one file's content.
func (p Pack) File(name string) ([]byte, bool) {
	b, ok := p.files[name]
	return bytes.Clone(b), ok
}

// Files returns a copy of every file.
func (p Pack) Files() map[string][]byte {
	out := make(map[string][]byte, len(p.files))
	for n, b := range p.files {
		out[n] = bytes.Clone(b)
	}
	return out
}

// With returns a copy of p with one file set (added or replaced). The name must be a
// data file path.
func (p Pack) With(name string, data []byte) (Pack, error) {
	if !flows.IsDataFile(name) {
		return Pack{}, &flows.DataError{File: name, Msg: "not a data file"}
	}
	q := Pack{files: p.Files()}
	q.files[name] = bytes.Clone(data)
	return q, nil
}

// Without returns a copy of p without the named file (a class questionnaire a chain no
// longer wants: the class then uses general.json).
func (p Pack) Without(name string) Pack {
	q := Pack{files: p.Files()}
	delete(q.files, name)
	return q
}

// Overlay returns base with every file of top put over it: files top lacks are taken
// from base. This is how `hq content publish --from DIR` fills in what DIR leaves out.
func (base Pack) Overlay(top Pack) Pack {
	q := Pack{files: base.Files()}
	for n, b := range top.files {
		q.files[n] = bytes.Clone(b)
	}
	return q
}

// Equal reports whether both packs hold the same files with the same bytes.
func (p Pack) Equal(q Pack) bool { return p.Hash() == q.Hash() }

// Hash is the canonical content hash, "sha256:" + 64 hex digits: SHA-256 over a fixed
// domain line, then for every file in path order its path, its length in bytes and its
// bytes, each followed by a newline. It depends on nothing but the files' names and
// exact bytes (not on map order, the transport or the version number).
func (p Pack) Hash() string {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	for _, n := range p.Names() {
		b := p.files[n]
		h.Write([]byte(n + "\n" + strconv.Itoa(len(b)) + "\n"))
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return hashPrefix + hex.EncodeToString(h.Sum(nil))
}

// Validate loads the pack with flows.ParseData — the strict loader the kiosk uses, with
// its cross-checks — and returns the loaded data. Errors are those of ParseData: one
// *flows.DataError per problem file, each naming the file and field.
func (p Pack) Validate() (flows.Data, error) { return flows.ParseData(p.files) }

// ValidHash reports whether s has the form of a content hash.
func ValidHash(s string) bool {
	hexPart, ok := strings.CutPrefix(s, hashPrefix)
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}
