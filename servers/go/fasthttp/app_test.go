package main

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"podmeter/servers/go/refcommon"
)

func call(s *server, method, target string) (int, string) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(target)
	s.handle(&ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Body())
}

func TestEndpointsAndMetrics(t *testing.T) {
	s := newServer(refcommon.NewMetrics("fasthttp", true), &refcommon.Snowflake{})
	cases := []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/health", 200, `{"status":"ok","runtime":"go","framework":"fasthttp"}`},
		{"GET", "/compute?n=10", 200, `{"n":10,"primes":4}`},
		{"GET", "/fib?n=41", 400, `{"error":"n must be at most 40"}`},
		{"GET", "//fib", 404, `{"error":"not found"}`},
		{"POST", "/fib", 405, `{"error":"method not allowed"}`},
	}
	for _, c := range cases {
		if status, body := call(s, c.method, c.target); status != c.status || body != c.body {
			t.Errorf("%s %s = %d %s, want %d %s", c.method, c.target, status, body, c.status, c.body)
		}
	}
	_, text := call(s, "GET", "/metrics")
	for _, line := range []string{
		`http_server_request_duration_seconds_count{method="POST",route="/fib",status="405"} 1`,
		`http_server_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		`refserver_build_info{framework="fasthttp",runtime="go",`,
		"http_server_active_requests 0",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("missing %s in\n%s", line, text)
		}
	}
	s.stopping.Store(true)
	if status, _ := call(s, "GET", "/health"); status != 503 {
		t.Errorf("/health while stopping = %d", status)
	}
}
