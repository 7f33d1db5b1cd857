package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/shoaldb/shoal/cluster"
)

// The HTTP admin API: the admin state in JSON on the metrics listener,
// beside /metrics. When requirepass is set every request must carry it,
// as HTTP basic auth with user "default" (as AUTH takes it) or as
// "Authorization: Bearer <password>"; a refused request gets 401 and
// changes nothing. Errors are {"error": CODE, "message": text} with the
// code words of the RESP errors (MAINTENANCE, VERSIONCONFLICT, ...).
//
//	GET  /v1/cluster                 this node, its catalog and (in cluster mode) the members
//	GET  /v1/maintenance             MAINTENANCE STATUS
//	POST /v1/maintenance             {"action": "start"|"end", "timeout_ms": n, "skip_sync": [ids]}
//	GET  /v1/components              COMPONENT LIST
//	GET  /v1/components/{name}       COMPONENT STATUS name
//	POST /v1/components/{name}       COMPONENT DEPLOY: {"version", "payload" (base64), "kind", "replace", "lock_timeout_ms"}
//	DELETE /v1/components/{name}     COMPONENT UNDEPLOY
//	GET  /v1/components/{name}/history  COMPONENT HISTORY
//	GET  /v1/schema                  SCHEMA STATUS
//	POST /v1/schema/resync           SCHEMA RESYNC
func (s *Server) adminRoutes(mux *http.ServeMux) {
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if !s.adminAuthorized(r) {
				w.Header().Set("WWW-Authenticate", `Basic realm="shoal"`)
				writeJSON(w, http.StatusUnauthorized, apiError{"NOAUTH", "Authentication required."})
				return
			}
			if s.catalog == nil {
				writeJSON(w, http.StatusServiceUnavailable, apiError{"LOADING", "the catalog is not open yet"})
				return
			}
			v, err := fn(w, r)
			if err != nil {
				code, body := httpError(err)
				if code == http.StatusInternalServerError {
					s.log.Error("admin API", "path", r.URL.Path, "err", err)
				}
				writeJSON(w, code, body)
				return
			}
			writeJSON(w, http.StatusOK, v)
		})
	}
	h("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) (any, error) {
		out := clusterDoc{Node: s.store.NodeID(), ClusterEnabled: s.cluster != nil, Schema: s.catalog.SchemaStatus()}
		if s.cluster != nil {
			v := s.cluster.View()
			out.View = &v
			out.WriterEpoch = s.cluster.Epoch()
			out.Serving = s.cluster.Serving()
		}
		return out, nil
	})
	h("GET /v1/maintenance", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.catalog.MaintenanceStatus(), nil
	})
	h("POST /v1/maintenance", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req struct {
			Action    string   `json:"action"`
			TimeoutMs int64    `json:"timeout_ms"`
			SkipSync  []string `json:"skip_sync"`
		}
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		var err error
		switch req.Action {
		case "start":
			err = s.catalog.MaintenanceStart(r.Context(), cluster.MaintenanceOptions{
				Timeout: time.Duration(req.TimeoutMs) * time.Millisecond, SkipSync: req.SkipSync, By: "http " + r.RemoteAddr})
		case "end":
			err = s.catalog.MaintenanceEnd(r.Context())
		default:
			return nil, &cluster.Error{Code: "ERR", Msg: `action must be "start" or "end"`}
		}
		if err != nil {
			return nil, err
		}
		return s.catalog.MaintenanceStatus(), nil
	})
	h("GET /v1/components", func(w http.ResponseWriter, r *http.Request) (any, error) {
		l := s.catalog.ComponentList()
		if l == nil {
			l = []cluster.ComponentStatus{}
		}
		return l, nil
	})
	h("GET /v1/components/{name}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.catalog.ComponentStatus(r.PathValue("name"))
	})
	h("POST /v1/components/{name}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req struct {
			Version       string `json:"version"`
			Payload       []byte `json:"payload"`
			Kind          string `json:"kind"`
			Replace       bool   `json:"replace"`
			LockTimeoutMs int64  `json:"lock_timeout_ms"`
		}
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
		if req.Version == "" {
			return nil, &cluster.Error{Code: "ERR", Msg: "version is required"}
		}
		name := r.PathValue("name")
		err := s.catalog.ComponentDeploy(r.Context(), cluster.DeployRequest{Name: name, Version: req.Version, Payload: req.Payload,
			Kind: req.Kind, Replace: req.Replace, LockTimeout: time.Duration(req.LockTimeoutMs) * time.Millisecond})
		if err != nil {
			return nil, err
		}
		return s.catalog.ComponentStatus(name)
	})
	h("DELETE /v1/components/{name}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		name := r.PathValue("name")
		if err := s.catalog.ComponentUndeploy(r.Context(), name, 0); err != nil {
			return nil, err
		}
		return s.catalog.ComponentStatus(name)
	})
	h("GET /v1/components/{name}/history", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.catalog.ComponentHistory(r.PathValue("name"))
	})
	h("GET /v1/schema", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.catalog.SchemaStatus(), nil
	})
	h("POST /v1/schema/resync", func(w http.ResponseWriter, r *http.Request) (any, error) {
		s.catalog.SchemaResync("manual")
		return map[string]bool{"queued": true}, nil
	})
}

type clusterDoc struct {
	Node           string               `json:"node"`
	ClusterEnabled bool                 `json:"cluster_enabled"`
	WriterEpoch    uint64               `json:"writer_epoch,omitempty"`
	Serving        bool                 `json:"serving,omitempty"`
	View           *cluster.View        `json:"view,omitempty"`
	Schema         cluster.SchemaStatus `json:"schema"`
}

type apiError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

// httpError maps an error to its status and JSON body, with the code word
// of the RESP error.
func httpError(err error) (int, apiError) {
	var ce *cluster.Error
	if !errors.As(err, &ce) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return http.StatusGatewayTimeout, apiError{"TIMEOUT", err.Error()}
		}
		return http.StatusInternalServerError, apiError{"ERR", "internal error"}
	}
	switch ce.Code {
	case "VERSIONCONFLICT":
		return http.StatusConflict, apiError{ce.Code, ce.Msg}
	case "LOCKTIMEOUT":
		return http.StatusLocked, apiError{ce.Code, ce.Msg}
	case "MAINTENANCE", "TRYAGAIN", "CLUSTERDOWN", "LOADING":
		return http.StatusServiceUnavailable, apiError{ce.Code, ce.Msg}
	case "NOTFOUND":
		return http.StatusNotFound, apiError{ce.Code, ce.Msg}
	}
	if strings.HasPrefix(ce.Msg, "Unknown") || strings.Contains(ce.Msg, "no such") || strings.Contains(ce.Msg, "not found") {
		return http.StatusNotFound, apiError{ce.Code, ce.Msg}
	}
	return http.StatusBadRequest, apiError{ce.Code, ce.Msg}
}

// adminAuthorized checks the default user's password (requirepass's, or
// one an ACL rule gave it) as basic auth (user "default") or a bearer
// token; a default user without a password lets every request in.
func (s *Server) adminAuthorized(r *http.Request) bool {
	def := s.users.defaultRef().load().u
	if !s.defaultHasPassword() {
		return true
	}
	got := ""
	if user, p, ok := r.BasicAuth(); ok {
		if user != "default" {
			return false
		}
		got = p
	} else if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		got = tok
	} else {
		return false
	}
	return def.CheckPassword(got)
}

// defaultHasPassword reports whether the default user needs a password,
// as protected mode asks.
func (s *Server) defaultHasPassword() bool { return !s.users.defaultRef().load().u.NoPass }

// maxAdminBody bounds a request body (a component payload included).
const maxAdminBody = 64 << 20

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxAdminBody))
	if err := dec.Decode(v); err != nil {
		return &cluster.Error{Code: "ERR", Msg: "invalid JSON body: " + err.Error()}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
