// Package contentadmin is HQ's content management (零代码): publishing a
// content pack as a new immutable version after the kiosk's own strict validation,
// assigning versions to pilot stores or to all (rollback = assigning an older one),
// listing and comparing versions, the pack each store is to run, and what the kiosks
// report. The admin API, the dashboard's 内容管理 page and `hq content … --data DIR` all
// go through one Service on hq.ContentStore, so they behave alike.
package contentadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// DefaultNote describes version 0 in lists.
const DefaultNote = "内置默认内容（随程序发布）"

// Service is content management on a store.
type Service struct {
	st  hq.ContentStore
	def content.Pack
	now func() time.Time
}

// New builds the service. def is version 0, the pack embedded in the binaries
// (content.FromFS(assets.FS())): the base of the first publish and of diffs against 0.
// now is the clock (nil: time.Now).
func New(st hq.ContentStore, def content.Pack, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, def: def, now: now}
}

// ValidationError is a pack that failed validation: every problem, each naming its
// file and field. It wraps hq.ErrInvalid (the API answers 400).
type ValidationError struct {
	Problems []*flows.DataError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return "content pack refused: " + strings.Join(parts, "; ")
}

// Unwrap makes errors.Is(err, hq.ErrInvalid) hold.
func (e *ValidationError) Unwrap() error { return hq.ErrInvalid }

// problems turns a pack or loader error into a ValidationError.
func problems(err error) *ValidationError {
	des := flows.DataErrors(err)
	if len(des) == 0 {
		des = []*flows.DataError{{Msg: err.Error()}}
	}
	return &ValidationError{Problems: des}
}

// Version returns version n and its pack; 0 is the embedded default.
func (s *Service) Version(ctx context.Context, n int) (content.Version, content.Pack, error) {
	if n == content.DefaultVersion {
		if s.def.Len() == 0 {
			return content.Version{}, content.Pack{}, errors.New("content version 0: HQ has no embedded default configured")
		}
		return content.Version{Number: 0, Hash: s.def.Hash(), Note: DefaultNote}, s.def, nil
	}
	return s.st.ContentPack(ctx, n)
}

// Latest returns the newest version (0 when none was published).
func (s *Service) Latest(ctx context.Context) (content.Version, content.Pack, error) {
	vs, err := s.st.ContentVersions(ctx)
	if err != nil {
		return content.Version{}, content.Pack{}, err
	}
	n := 0
	if len(vs) > 0 {
		n = vs[len(vs)-1].Number
	}
	return s.Version(ctx, n)
}

// draft builds the pack a publish or a check is about: the request's files, over the
// latest version's unless the request is complete.
func (s *Service) draft(ctx context.Context, req wire.ContentPublishRequest) (content.Pack, int, error) {
	files := make(map[string][]byte, len(req.Files))
	for name, text := range req.Files {
		files[name] = []byte(text)
	}
	top, err := content.New(files)
	if err != nil {
		return content.Pack{}, 0, problems(err)
	}
	base, basePack, err := s.Latest(ctx)
	if err != nil {
		return content.Pack{}, 0, err
	}
	if req.Complete {
		return top, base.Number, nil
	}
	return basePack.Overlay(top), base.Number, nil
}

// Check validates a draft without storing anything: its hash, its problems and its
// diff from the latest version.
func (s *Service) Check(ctx context.Context, req wire.ContentPublishRequest) (wire.ContentCheckResponse, error) {
	p, base, err := s.draft(ctx, req)
	var ve *ValidationError
	if errors.As(err, &ve) {
		return wire.ContentCheckResponse{Problems: ve.Problems, Base: base, Diff: content.Diff{Files: []content.FileDiff{}}}, nil
	}
	if err != nil {
		return wire.ContentCheckResponse{}, err
	}
	out := wire.ContentCheckResponse{Hash: p.Hash(), Problems: []*flows.DataError{}, Base: base}
	if _, err := p.Validate(); err != nil {
		out.Problems = problems(err).Problems
	}
	_, bp, err := s.Version(ctx, base)
	if err != nil {
		return wire.ContentCheckResponse{}, err
	}
	out.Diff = content.Compare(bp, p)
	return out, nil
}

// Publish validates the request's pack (over the latest version unless complete) with
// the kiosk's loader and stores it as the next version, assigned as the request says.
// A pack that fails validation is a *ValidationError and nothing is stored.
func (s *Service) Publish(ctx context.Context, req wire.ContentPublishRequest) (content.Version, error) {
	if strings.TrimSpace(req.Author) == "" {
		return content.Version{}, fmt.Errorf("content publish: field author is empty: %w", hq.ErrInvalid)
	}
	if err := checkStores(req.Stores); err != nil {
		return content.Version{}, err
	}
	p, _, err := s.draft(ctx, req)
	if err != nil {
		return content.Version{}, err
	}
	if _, err := p.Validate(); err != nil {
		return content.Version{}, problems(err)
	}
	return s.st.PublishContent(ctx, hq.ContentPublish{Pack: p, Author: req.Author, Note: req.Note, At: s.now(),
		Assign: hq.ContentAssign{All: req.All, Stores: req.Stores}})
}

// checkStores refuses a store id that could not be one (the kiosks' store ids are
// short codes such as S001).
func checkStores(ids []string) error {
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\r\n,/") {
			return fmt.Errorf("stores: %q is not a store id: %w", id, hq.ErrInvalid)
		}
		if seen[id] {
			return fmt.Errorf("stores: %s listed twice: %w", id, hq.ErrInvalid)
		}
		seen[id] = true
	}
	return nil
}

// Assign makes pilot stores, or every store, run a version (rollback: an older one).
func (s *Service) Assign(ctx context.Context, req wire.ContentAssignRequest, by string) error {
	if err := checkStores(req.Stores); err != nil {
		return err
	}
	return s.st.AssignContent(ctx, hq.ContentAssign{Version: req.Version, All: req.All, Stores: req.Stores, By: by, At: s.now()})
}

// Diff compares two versions (0: the embedded default).
func (s *Service) Diff(ctx context.Context, from, to int) (content.Diff, error) {
	_, a, err := s.Version(ctx, from)
	if err != nil {
		return content.Diff{}, err
	}
	_, b, err := s.Version(ctx, to)
	if err != nil {
		return content.Diff{}, err
	}
	return content.Compare(a, b), nil
}

// ForStore is the document GET /api/v1/content serves a store: its assigned version
// with every file inline. Version 0 carries no files: the kiosk runs the default
// embedded in its own build.
func (s *Service) ForStore(ctx context.Context, store string) (content.Doc, error) {
	a, err := s.st.ContentAssignments(ctx)
	if err != nil {
		return content.Doc{}, err
	}
	n := a.For(store)
	if n == content.DefaultVersion {
		return content.Doc{Version: 0, Files: map[string]string{}}, nil
	}
	_, p, err := s.st.ContentPack(ctx, n)
	if err != nil {
		return content.Doc{}, err
	}
	return p.Doc(n), nil
}

// Report keeps what a store's kiosk reports about its content.
func (s *Service) Report(ctx context.Context, store string, req wire.ContentStatusRequest) error {
	st := hq.ContentStatus{StoreID: store, Version: req.Version, Hash: req.Hash, At: s.now(), Refused: req.Refused}
	if st.Refused != nil && st.Refused.At.IsZero() {
		r := *st.Refused
		r.At = st.At
		st.Refused = &r
	}
	return s.st.RecordContentStatus(ctx, st)
}

// List returns every version newest first (version 0 last) with the stores assigned
// to it and the stores whose kiosks report running it, and every kiosk's report.
func (s *Service) List(ctx context.Context) (wire.ContentListResponse, error) {
	vs, err := s.st.ContentVersions(ctx)
	if err != nil {
		return wire.ContentListResponse{}, err
	}
	a, err := s.st.ContentAssignments(ctx)
	if err != nil {
		return wire.ContentListResponse{}, err
	}
	sts, err := s.st.ContentStatuses(ctx)
	if err != nil {
		return wire.ContentListResponse{}, err
	}
	def := content.Version{Number: 0, Note: DefaultNote}
	if s.def.Len() > 0 {
		def.Hash = s.def.Hash()
	}
	all := append([]content.Version{def}, vs...)
	out := wire.ContentListResponse{Versions: make([]wire.ContentVersionRow, 0, len(all)), Statuses: sts}
	if out.Statuses == nil {
		out.Statuses = []hq.ContentStatus{}
	}
	for i := len(all) - 1; i >= 0; i-- {
		v := all[i]
		row := wire.ContentVersionRow{Version: v, Default: a.Default == v.Number}
		for _, id := range a.StoreIDs() {
			if a.Stores[id] == v.Number {
				row.Assigned = append(row.Assigned, id)
			}
		}
		for _, st := range sts {
			if st.Version == v.Number {
				row.Running = append(row.Running, st.StoreID)
			}
		}
		out.Versions = append(out.Versions, row)
	}
	return out, nil
}
