package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"podmeter/servers/go/refcommon"
)

func call(h http.Handler, method, target string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestEndpoints(t *testing.T) {
	s := newServer(refcommon.NewMetrics("net/http", true), &refcommon.Snowflake{})
	cases := []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/health", 200, `{"status":"ok","runtime":"go","framework":"net/http"}`},
		{"GET", "/compute", 200, `{"n":50000,"primes":5133}`},
		{"GET", "/compute?n=10", 200, `{"n":10,"primes":4}`},
		{"GET", "/fib?n=10", 200, `{"n":10,"result":55}`},
		{"GET", "/payload?size=0", 200, `[]`},
		{"GET", "/hash?rounds=0", 200, `{"rounds":0,"hash":"706f646d65746572"}`},
		{"GET", "/fib?n=41", 400, `{"error":"n must be at most 40"}`},
		{"GET", "/compute?n=x", 400, `{"error":"n must be an integer"}`},
		{"GET", "/nope", 404, `{"error":"not found"}`},
		{"POST", "/fib", 405, `{"error":"method not allowed"}`},
	}
	for _, c := range cases {
		if status, body := call(s, c.method, c.target); status != c.status || body != c.body {
			t.Errorf("%s %s = %d %s; want %d %s", c.method, c.target, status, body, c.status, c.body)
		}
	}
}

func TestHealthIs503OnceStopping(t *testing.T) {
	s := newServer(refcommon.NewMetrics("net/http", true), &refcommon.Snowflake{})
	s.stopping.Store(true)
	if status, body := call(s, "GET", "/health"); status != 503 || body != `{"status":"stopping","runtime":"go","framework":"net/http"}` {
		t.Errorf("got %d %s", status, body)
	}
	if status, _ := call(s, "GET", "/fib?n=10"); status != 200 {
		t.Errorf("/fib while stopping: %d", status)
	}
}

func TestIDsIncrease(t *testing.T) {
	s := newServer(refcommon.NewMetrics("net/http", true), &refcommon.Snowflake{})
	var a, b struct{ ID uint64 }
	_, first := call(s, "GET", "/id")
	_, second := call(s, "GET", "/id")
	if json.Unmarshal([]byte(first), &a) != nil || json.Unmarshal([]byte(second), &b) != nil || a.ID >= b.ID {
		t.Errorf("ids %s then %s", first, second)
	}
}

func TestPanicBecomesJSON500(t *testing.T) {
	for _, requests := range []bool{true, false} {
		s := newServer(refcommon.NewMetrics("net/http", requests), &refcommon.Snowflake{})
		s.routes["/boom"] = func(http.ResponseWriter, *http.Request) { panic("boom") }
		if status, body := call(s, "GET", "/boom"); status != 500 || body != `{"error":"internal error"}` {
			t.Errorf("requests %v: got %d %s", requests, status, body)
		}
		_, text := call(s, "GET", "/metrics")
		counted := strings.Contains(text, `route="/boom",status="500"} 1`)
		if counted != requests {
			t.Errorf("requests %v: the 500 counted: %v", requests, counted)
		}
	}
}

func TestMetricsOffRecordsNothing(t *testing.T) {
	s := newServer(refcommon.NewMetrics("net/http", false), &refcommon.Snowflake{})
	if status, body := call(s, "GET", "/fib?n=10"); status != 200 || body != `{"n":10,"result":55}` {
		t.Errorf("got %d %s", status, body)
	}
	_, text := call(s, "GET", "/metrics")
	if strings.Contains(text, "http_server_") || !strings.Contains(text, `refserver_build_info{framework="net/http"`) {
		t.Errorf("REQUEST_METRICS=off exposition:\n%s", text)
	}
}

func TestMetricsCountByRouteTemplate(t *testing.T) {
	s := newServer(refcommon.NewMetrics("net/http", true), &refcommon.Snowflake{})
	call(s, "GET", "/fib?n=1")
	call(s, "DELETE", "/fib")
	call(s, "BREW", "/a/b")
	call(s, "POST", "/metrics")
	status, text := call(s, "GET", "/metrics")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	for _, line := range []string{
		`http_server_request_duration_seconds_count{method="GET",route="/fib",status="200"} 1`,
		`http_server_request_duration_seconds_count{method="DELETE",route="/fib",status="405"} 1`,
		`http_server_request_duration_seconds_count{method="_OTHER",route="unmatched",status="404"} 1`,
		`http_server_request_duration_seconds_bucket{method="GET",route="/fib",status="200",le="0.0005"}`,
		"http_server_active_requests 0",
		`refserver_build_info{framework="net/http",runtime="go",`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("missing %s", line)
		}
	}
	if strings.Contains(text, `route="/metrics"`) {
		t.Error("/metrics was instrumented")
	}
}
