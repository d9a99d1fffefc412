package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/wire"
)

// Content routes: a kiosk pulls its store's pack and reports what it runs;
// an admin publishes, assigns, lists and compares versions. Every operation goes through
// contentadmin.Service, as the dashboard and `hq content --data` do.
func (s *Server) contentRoutes() {
	s.mux.Handle("GET "+wire.PathContent, s.RequireAuth(s.handleContent))
	s.mux.Handle("POST "+wire.PathContentStatus, s.RequireAuth(s.handleContentStatus))
	s.mux.Handle("GET "+wire.PathContentVersions, s.RequireAuth(admin(s.handleContentList)))
	s.mux.Handle("POST "+wire.PathContentVersions, s.RequireAuth(admin(s.handleContentPublish)))
	s.mux.Handle("GET "+wire.PathContentVersion, s.RequireAuth(admin(s.handleContentVersion)))
	s.mux.Handle("POST "+wire.PathContentAssign, s.RequireAuth(admin(s.handleContentAssign)))
	s.mux.Handle("GET "+wire.PathContentDiff, s.RequireAuth(admin(s.handleContentDiff)))
	s.mux.Handle("POST "+wire.PathContentValidate, s.RequireAuth(admin(s.handleContentValidate)))
}

// Content returns the content management the server's routes use.
func (s *Server) Content() *contentadmin.Service { return s.content }

// admin answers 403 to a store token.
func admin(h AuthedHandler) AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			WriteError(w, http.StatusForbidden, "content management needs an admin token")
			return
		}
		h(w, r, p)
	}
}

// actor names the admin in audit lines and as a version's author.
func actor(p hq.Principal) string {
	if p.Label != "" {
		return "admin:" + p.Label
	}
	return "admin"
}

// contentETag is a document's entity tag: its version and hash.
func contentETag(d content.Doc) string {
	return fmt.Sprintf(`"v%d-%s"`, d.Version, strings.TrimPrefix(d.Hash, "sha256:"))
}

// etagMatch reports whether an If-None-Match header lists tag (or is *).
func etagMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// handleContent serves GET /api/v1/content: the store's assigned pack as one JSON
// document, with an ETag; 304 when If-None-Match has it. An admin names the store.
func (s *Server) handleContent(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	q := r.URL.Query()
	if err := checkQuery(q, "store_id"); err != nil {
		s.fail(w, r, err)
		return
	}
	store, err := p.ScopeStore(q.Get("store_id"))
	if err != nil {
		s.fail(w, r, forbiddenf("store_id: %v", err))
		return
	}
	if store == "" {
		s.fail(w, r, badf("store_id: an admin token must name the store"))
		return
	}
	doc, err := s.content.ForStore(r.Context(), store)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tag := contentETag(doc)
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache")
	if etagMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	WriteJSON(w, http.StatusOK, doc)
}

// handleContentStatus keeps what a store's kiosk reports (store token only).
func (s *Server) handleContentStatus(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	if p.StoreID == "" {
		s.fail(w, r, forbiddenf("content status: only a store's kiosk reports its content"))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req wire.ContentStatusRequest
	if err := decodeStrict(body, &req, ""); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Refused != nil && len(req.Refused.Reason) > 2000 {
		req.Refused.Reason = req.Refused.Reason[:2000]
	}
	if err := s.content.Report(r.Context(), p.StoreID, req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Refused != nil {
		s.log.Warn("kiosk refused a content pack", "store", p.StoreID, "version", req.Refused.Version, "reason", req.Refused.Reason)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleContentList(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	out, err := s.content.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

// contentFail answers a content error: a pack that failed validation is 400 with every
// problem, an unknown version 404, the rest as fail does.
func (s *Server) contentFail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *contentadmin.ValidationError
	switch {
	case errors.As(err, &ve):
		WriteJSON(w, http.StatusBadRequest, wire.ContentProblemsResponse{Error: ve.Problems[0].Error(), Problems: ve.Problems})
	case errors.Is(err, hq.ErrNotFound):
		WriteError(w, http.StatusNotFound, err.Error())
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) handleContentPublish(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req wire.ContentPublishRequest
	if err := decodeStrict(body, &req, ""); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Author == "" {
		req.Author = actor(p)
	}
	v, err := s.content.Publish(r.Context(), req)
	if err != nil {
		s.contentFail(w, r, err)
		return
	}
	s.log.Info("content published", "version", v.Number, "hash", v.Hash, "author", v.Author, "all", req.All, "stores", req.Stores)
	WriteJSON(w, http.StatusOK, wire.ContentPublishResponse{Version: v})
}

func (s *Server) handleContentVersion(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		s.fail(w, r, badf("version: %q is not a version number", r.PathValue("n")))
		return
	}
	_, pack, err := s.content.Version(r.Context(), n)
	if err != nil {
		s.contentFail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, pack.Doc(n))
}

func (s *Server) handleContentAssign(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req wire.ContentAssignRequest
	if err := decodeStrict(body, &req, ""); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.content.Assign(r.Context(), req, actor(p)); err != nil {
		s.contentFail(w, r, err)
		return
	}
	s.log.Info("content assigned", "version", req.Version, "all", req.All, "stores", req.Stores, "by", actor(p))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleContentDiff(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	q := r.URL.Query()
	if err := checkQuery(q, "from", "to"); err != nil {
		s.fail(w, r, err)
		return
	}
	var nums [2]int
	for i, name := range []string{"from", "to"} {
		n, err := strconv.Atoi(q.Get(name))
		if err != nil || n < 0 {
			s.fail(w, r, badf("%s: %q is not a version number", name, q.Get(name)))
			return
		}
		nums[i] = n
	}
	d, err := s.content.Diff(r.Context(), nums[0], nums[1])
	if err != nil {
		s.contentFail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, d)
}

func (s *Server) handleContentValidate(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req wire.ContentPublishRequest
	if err := decodeStrict(body, &req, ""); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.content.Check(r.Context(), req)
	if err != nil {
		s.contentFail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, out)
}
