package server

import (
	"errors"
	"io"
	"net/http"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/followup"
)

// resolve serves POST /api/v1/followups/{id}/resolve {"sent":true|false} for admins:
// after a crash mid-send left a follow-up "unknown", a person checked the channel and
// says whether it went out (recorded as sent) or not (sent again at once).
func (h *HQ) resolve(rw http.ResponseWriter, r *http.Request, p hq.Principal) {
	if !p.Admin {
		api.WriteError(rw, http.StatusForbidden, "resolving a follow-up needs an admin token")
		return
	}
	var body struct {
		Sent *bool `json:"sent"`
	}
	raw, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 1<<10))
	if err == nil {
		err = api.DecodeStrict(raw, &body)
	}
	if err != nil || body.Sent == nil {
		api.WriteError(rw, http.StatusBadRequest, `body: want {"sent":true} or {"sent":false}`)
		return
	}
	actor := "admin"
	if p.Label != "" {
		actor = "admin:" + p.Label
	}
	id := r.PathValue("id")
	err = followup.Resolve(r.Context(), h.st, id, actor, *body.Sent, h.now())
	switch {
	case errors.Is(err, hq.ErrNotFound):
		api.WriteError(rw, http.StatusNotFound, "no follow-up "+id)
	case errors.Is(err, hq.ErrInvalid):
		api.WriteError(rw, http.StatusConflict, err.Error())
	case err != nil:
		h.log.Error("resolve follow-up", "followup", id, "err", err)
		api.WriteError(rw, hq.FailStatus(rw.Header(), err), "resolve failed; see HQ log")
	default:
		api.WriteJSON(rw, http.StatusOK, map[string]any{"followup_id": id, "sent": *body.Sent})
	}
}
