package counter

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pharmachain/counter/flows/content"
)

// The kiosk keeps the last good content pack HQ sent in its data directory, so that it
// runs the same content after a restart, before it reaches HQ or when it cannot:
//
//	DATA/content/pack.json   {"etag": …, "received_at": …, "doc": {"version": N, "hash": "sha256:…", "files": {…}}}
//
// The document is kept as HQ sent it and checked again when read (its hash, then
// flows.ParseData). It is written atomically (a temporary file in the same folder,
// synced, renamed over the old one): a crash leaves the old pack or the new one, never
// half of one. No file: the kiosk runs the content built into it (version 0).

// KeptContentPath is where the kiosk keeps its content pack in data directory dir.
func KeptContentPath(dir string) string { return filepath.Join(dir, "content", "pack.json") }

// keptPack is the kept file.
type keptPack struct {
	ETag       string      `json:"etag,omitempty"` // HQ's entity tag of the document (If-None-Match)
	ReceivedAt time.Time   `json:"received_at"`
	Doc        content.Doc `json:"doc"`
}

// LoadKeptContent reads the pack kept in data directory dir and checks it as a pack
// from HQ is checked: its hash, then the strict loader. It returns the content and
// HQ's entity tag of it; an error wrapping os.ErrNotExist when no pack is kept.
func LoadKeptContent(dir string) (Content, string, error) {
	b, err := os.ReadFile(KeptContentPath(dir))
	if err != nil {
		return Content{}, "", fmt.Errorf("kept content: %w", err)
	}
	var k keptPack
	if err := json.Unmarshal(b, &k); err != nil {
		return Content{}, "", fmt.Errorf("kept content %s: %w", KeptContentPath(dir), err)
	}
	ct, err := contentOf(k.Doc)
	if err != nil {
		return Content{}, "", fmt.Errorf("kept content %s: %w", KeptContentPath(dir), err)
	}
	return ct, k.ETag, nil
}

// StartContent is the content a kiosk starts with: the pack kept in data directory
// dir when there is a good one, else embedded (version 0, built into the kiosk). It
// reads no network. A kept pack that no longer loads is reported (problem) and the
// kiosk starts on embedded: HQ's pack is fetched again at the first sync.
func StartContent(dir string, embedded Content) (ct Content, etag string, problem error) {
	ct, etag, err := LoadKeptContent(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return embedded, "", nil
	case err != nil:
		return embedded, "", err
	}
	return ct, etag, nil
}

// contentOf checks a document (hash, then the strict loader) and returns its content.
func contentOf(d content.Doc) (Content, error) {
	p, err := d.Pack()
	if err != nil {
		return Content{}, err
	}
	data, err := p.Validate()
	if err != nil {
		return Content{}, err
	}
	return Content{Version: d.Version, Hash: d.Hash, Data: data}, nil
}

// keepContent writes the kept pack atomically.
func keepContent(dir, etag string, d content.Doc, at time.Time) error {
	b, err := json.Marshal(keptPack{ETag: etag, ReceivedAt: at.UTC(), Doc: d})
	if err != nil {
		return fmt.Errorf("keep content: %w", err)
	}
	path := KeptContentPath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("keep content: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pack-*.tmp")
	if err != nil {
		return fmt.Errorf("keep content: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename: no such file
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("keep content: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keep content: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keep content: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keep content: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// dropKeptContent removes the kept pack (HQ assigned version 0: the built-in content).
func dropKeptContent(dir string) error {
	err := os.Remove(KeptContentPath(dir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("drop kept content: %w", err)
	}
	syncDir(filepath.Dir(KeptContentPath(dir)))
	return nil
}

// syncDir makes a rename or removal in dir durable where the system allows it
// (Windows cannot sync a folder; its rename is durable on NTFS's journal).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
