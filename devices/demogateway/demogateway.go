// Package demogateway is the demo stand-in for a store's insurance gateway (the service
// that turns a medical-insurance QR token into the holder's ID number): its HTTP handler
// and its data. The demo HQs mount it; devices.HTTPResolver is its client. It imports
// only the standard library, so HQ can serve it without linking the device drivers.
package demogateway

import (
	"encoding/json"
	"io"
	"net/http"
)

type resolveRequest struct {
	Token string `json:"token"`
}

type resolveResponse struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
	Error    string `json:"error,omitempty"`
}

// Handler is a stand-in for a store's insurance gateway, mounted by the demo HQs:
// POST {"token":…} answers {"id_number":…,"name":…} from ids (token → ID number) and names
// (ID number or token → name). Unknown tokens get 404, malformed requests 400.
func Handler(ids map[string]string, names map[string]string) http.Handler {
	// Copy so that later changes by the caller cannot race with requests.
	idc := make(map[string]string, len(ids))
	for k, v := range ids {
		idc[k] = v
	}
	nc := make(map[string]string, len(names))
	for k, v := range names {
		nc[k] = v
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if req.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			_ = json.NewEncoder(w).Encode(resolveResponse{Error: "use POST"})
			return
		}
		var in resolveRequest
		if err := json.NewDecoder(io.LimitReader(req.Body, 16<<10)).Decode(&in); err != nil || in.Token == "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(resolveResponse{Error: `expected {"token":"…"}`})
			return
		}
		id, ok := idc[in.Token]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(resolveResponse{Error: "unknown or expired token"})
			return
		}
		name := nc[id]
		if name == "" {
			name = nc[in.Token]
		}
		_ = json.NewEncoder(w).Encode(resolveResponse{IDNumber: id, Name: name})
	})
}

// Data returns demo tokens (token → ID number) and names (ID number → name) for Handler
// in `make run`. The ID numbers are the public GB 11643 examples; the tokens match
// devices.DefaultInsurancePattern.
func Data() (ids, names map[string]string) {
	ids = map[string]string{
		"YBDEMO0000000000000001": "11010519491231002X",
		"YBDEMO0000000000000002": "440524188001010014",
		"YBDEMO0000000000000003": "34052419800101001X",
		"YBDEMO0000000000000004": "513101198201130014",
	}
	names = map[string]string{
		"11010519491231002X": "张三",
		"440524188001010014": "李四",
		"34052419800101001X": "王五",
		"513101198201130014": "赵六",
	}
	return ids, names
}
