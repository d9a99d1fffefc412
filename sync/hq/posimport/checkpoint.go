package posimport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// checkpoint is the resume state of one file, kept beside it as .NAME.import-state:
// which file (size, modification time, hash of its first 64 KiB) and how many of its
// rows HQ has accepted. It holds no row content.
type checkpoint struct {
	path string
	st   checkpointState
}

type checkpointState struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	Head    string    `json:"head_sha256"`
	Rows    int       `json:"rows"` // data rows read (rejected ones included) whose good rows HQ accepted
	Saved   time.Time `json:"saved"`
}

// StatePath is where the checkpoint of the file at path is kept.
func StatePath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".import-state")
}

// openCheckpoint identifies the file and loads its checkpoint when it is of this very
// file (any other is ignored: the import starts over). It fails when the directory is
// not writable.
func openCheckpoint(path string) (*checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 64<<10)); err != nil {
		return nil, err
	}
	cur := checkpointState{Size: fi.Size(), ModTime: fi.ModTime().UTC(), Head: hex.EncodeToString(h.Sum(nil))}
	cp := &checkpoint{path: StatePath(path), st: cur}
	if b, err := os.ReadFile(cp.path); err == nil {
		var old checkpointState
		if json.Unmarshal(b, &old) == nil && old.Size == cur.Size && old.ModTime.Equal(cur.ModTime) && old.Head == cur.Head && old.Rows > 0 {
			cp.st.Rows = old.Rows
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Writable? Save the state as it is now.
	if err := cp.save(cp.st.Rows); err != nil {
		return nil, err
	}
	return cp, nil
}

// save records rows as done: written to a temporary file and renamed over the old one.
func (c *checkpoint) save(rows int) error {
	c.st.Rows, c.st.Saved = rows, time.Now().UTC()
	b, err := json.Marshal(c.st)
	if err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func (c *checkpoint) remove() {
	_ = os.Remove(c.path)
	_ = os.Remove(c.path + ".tmp")
}
