package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shoaldb/shoal/internal/testutil"
)

// adminCall sends one request to the admin API and decodes its JSON body.
func adminCall(t *testing.T, method, url, body string, auth func(*http.Request)) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != nil {
		auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q", method, url, ct)
	}
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
	return resp.StatusCode, out
}

func TestAdminAPIAuth(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.MetricsPort = testutil.FreePort(t)
	cfg.RequirePass = "s3cret"
	s := testutil.Start(t, cfg)
	base := "http://" + s.MetricsAddr()
	basic := func(user, pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	for _, path := range []string{"/v1/cluster", "/v1/maintenance", "/v1/components", "/v1/schema"} {
		for _, bad := range []func(*http.Request){nil, basic("default", "wrong"), basic("alice", "s3cret"), bearer("wrong")} {
			code, body := adminCall(t, "GET", base+path, "", bad)
			if code != http.StatusUnauthorized || body["error"] != "NOAUTH" {
				t.Fatalf("GET %s with bad credentials: %d %v, want 401 NOAUTH", path, code, body)
			}
		}
		for _, good := range []func(*http.Request){basic("default", "s3cret"), bearer("s3cret")} {
			if code, body := adminCall(t, "GET", base+path, "", good); code != http.StatusOK {
				t.Fatalf("GET %s with the password: %d %v", path, code, body)
			}
		}
	}
	// Every route refuses a request without the password, and a refused
	// change changes nothing.
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/components/app", ""},
		{"GET", "/v1/components/app/history", ""},
		{"POST", "/v1/components/app", `{"version":"1"}`},
		{"DELETE", "/v1/components/app", ""},
		{"POST", "/v1/maintenance", `{"action":"start"}`},
		{"POST", "/v1/schema/resync", ""},
	} {
		for _, bad := range []func(*http.Request){nil, basic("default", "wrong"), bearer("wrong")} {
			if code, body := adminCall(t, r.method, base+r.path, r.body, bad); code != http.StatusUnauthorized || body["error"] != "NOAUTH" {
				t.Fatalf("%s %s with bad credentials: %d %v, want 401 NOAUTH", r.method, r.path, code, body)
			}
		}
	}
	if code, body := adminCall(t, "GET", base+"/v1/components/app", "", bearer("s3cret")); code != http.StatusNotFound {
		t.Fatalf("the refused deploy created the component: %d %v", code, body)
	}
	if code, body := adminCall(t, "GET", base+"/v1/maintenance", "", bearer("s3cret")); code != http.StatusOK || body["enabled"] != false {
		t.Fatalf("the refused START started maintenance: %d %v", code, body)
	}
	if code, body := adminCall(t, "GET", base+"/v1/schema", "", bearer("s3cret")); code != http.StatusOK || body["resyncs"].(float64) != 0 {
		t.Fatalf("the refused resync ran: %d %v", code, body)
	}
	code, body := adminCall(t, "GET", base+"/v1/cluster", "", bearer("s3cret"))
	if code != http.StatusOK || body["node"] != s.Store().NodeID() || body["cluster_enabled"] != false {
		t.Fatalf("GET /v1/cluster: %d %v", code, body)
	}
	code, body = adminCall(t, "POST", base+"/v1/maintenance", `{"action":"sideways"}`, bearer("s3cret"))
	if code != http.StatusBadRequest || body["error"] != "ERR" {
		t.Fatalf("POST /v1/maintenance with a bad action: %d %v", code, body)
	}
	code, body = adminCall(t, "POST", base+"/v1/maintenance", `{not json`, bearer("s3cret"))
	if code != http.StatusBadRequest || body["error"] != "ERR" {
		t.Fatalf("POST /v1/maintenance with bad JSON: %d %v", code, body)
	}
}

func TestAdminAPIWithoutPassword(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.MetricsPort = testutil.FreePort(t)
	s := testutil.Start(t, cfg)
	code, body := adminCall(t, "GET", "http://"+s.MetricsAddr()+"/v1/schema", "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/schema: %d %v", code, body)
	}
	if _, ok := body["epoch"]; !ok {
		t.Fatalf("GET /v1/schema has no epoch: %v", body)
	}
}

// TestAdminAPIFlows drives maintenance, a component deploy and a schema
// resync through the HTTP API of a plain node.
func TestAdminAPIFlows(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.MetricsPort = testutil.FreePort(t)
	cfg.RequirePass = "pw"
	s := testutil.Start(t, cfg)
	base := "http://" + s.MetricsAddr()
	auth := func(r *http.Request) { r.SetBasicAuth("default", "pw") }
	do := func(method, path, body string, want int) map[string]any {
		t.Helper()
		code, out := adminCall(t, method, base+path, body, auth)
		if code != want {
			t.Fatalf("%s %s %s: %d %v, want %d", method, path, body, code, out, want)
		}
		return out
	}

	out := do("POST", "/v1/components/app", `{"version":"1.0","payload":"aGVsbG8="}`, http.StatusOK)
	if out["active_version"] != "1.0" || out["state"] != "active" {
		t.Fatalf("after deploy: %v", out)
	}
	do("POST", "/v1/components/app", `{"version":"1.0"}`, http.StatusOK) // the active version again
	out = do("POST", "/v1/components/app", `{"version":"2.0"}`, http.StatusConflict)
	if out["error"] != "VERSIONCONFLICT" || !strings.Contains(out["message"].(string), "active=1.0 requested=2.0") {
		t.Fatalf("conflicting deploy: %v", out)
	}
	out = do("POST", "/v1/components/app", `{"version":"2.0","replace":true}`, http.StatusOK)
	if out["active_version"] != "2.0" {
		t.Fatalf("after REPLACE: %v", out)
	}
	if out := do("GET", "/v1/components/app", "", http.StatusOK); out["active_version"] != "2.0" {
		t.Fatalf("GET /v1/components/app: %v", out)
	}
	do("GET", "/v1/components/nosuch", "", http.StatusNotFound)

	out = do("POST", "/v1/maintenance", `{"action":"start"}`, http.StatusOK)
	if out["enabled"] != true || out["phase"] != "enabled" {
		t.Fatalf("after start: %v", out)
	}
	out = do("POST", "/v1/components/app", `{"version":"3.0","replace":true}`, http.StatusServiceUnavailable)
	if out["error"] != "MAINTENANCE" {
		t.Fatalf("deploy during maintenance: %v", out)
	}
	out = do("POST", "/v1/maintenance", `{"action":"end"}`, http.StatusOK)
	if out["enabled"] != false || out["phase"] != "none" {
		t.Fatalf("after end: %v", out)
	}

	before := do("GET", "/v1/schema", "", http.StatusOK)["resyncs"].(float64)
	do("POST", "/v1/schema/resync", "", http.StatusOK)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, out := adminCall(t, "GET", base+"/v1/schema", "", auth)
		if out["resyncs"].(float64) > before && out["last_resync_reason"] == "manual" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no manual resync after POST /v1/schema/resync: %v", out)
		}
	}
}
