package content

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/pharmachain/counter/flows"
)

// ErrHashMismatch: a document's files do not hash to the hash it carries (altered or
// truncated in transit).
const ErrHashMismatch = sentinel("content hash mismatch")

// Doc is a pack as one JSON document: its version number, its hash and every file's
// content inline as UTF-8 text. HQ serves a store its assigned pack as one.
type Doc struct {
	Version int               `json:"version"`
	Hash    string            `json:"hash"`
	Files   map[string]string `json:"files"`
}

// Doc is the document of p as version n.
func (p Pack) Doc(n int) Doc {
	d := Doc{Version: n, Hash: p.Hash(), Files: make(map[string]string, len(p.files))}
	for name, b := range p.files {
		d.Files[name] = string(b)
	}
	return d
}

// Pack checks a received document and returns its pack: every name a data file, every
// content UTF-8, and the files hashing to d.Hash (else an error wrapping
// ErrHashMismatch). It does not validate the content: call Validate for that.
func (d Doc) Pack() (Pack, error) {
	if d.Version < 0 {
		return Pack{}, fmt.Errorf("content document: version %d", d.Version)
	}
	if !ValidHash(d.Hash) {
		return Pack{}, fmt.Errorf("content document v%d: hash %q is not sha256:<64 hex>", d.Version, d.Hash)
	}
	p := Pack{files: make(map[string][]byte, len(d.Files))}
	for name, s := range d.Files {
		if !flows.IsDataFile(name) {
			return Pack{}, fmt.Errorf("content document v%d: %w", d.Version, &flows.DataError{File: name, Msg: "not a data file"})
		}
		if !utf8.ValidString(s) {
			return Pack{}, fmt.Errorf("content document v%d: %w", d.Version, &flows.DataError{File: name, Msg: "not UTF-8 text"})
		}
		p.files[name] = []byte(s)
	}
	if got := p.Hash(); got != d.Hash {
		return Pack{}, fmt.Errorf("content document v%d: files hash to %s, document says %s: %w", d.Version, got, d.Hash, ErrHashMismatch)
	}
	return p, nil
}

// Version describes one published version of the content: immutable once published.
type Version struct {
	Number int       `json:"version"` // 1, 2, …; DefaultVersion (0) is the embedded default
	Hash   string    `json:"hash"`
	Author string    `json:"author"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
