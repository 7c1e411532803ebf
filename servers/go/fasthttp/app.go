package main

import (
	"encoding/json"
	"fmt"
	"log"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"podmeter/servers/go/refcommon"
)

// server routes by exact path; every route answers GET and HEAD only.
type server struct {
	metrics  *refcommon.Metrics
	ids      *refcommon.Snowflake
	routes   map[string]fasthttp.RequestHandler
	stopping atomic.Bool // set when a shutdown signal arrives: /health answers 503
}

func newServer(m *refcommon.Metrics, ids *refcommon.Snowflake) *server {
	s := &server{metrics: m, ids: ids}
	s.routes = map[string]fasthttp.RequestHandler{
		"/health":  s.health,
		"/compute": s.compute,
		"/payload": s.payload,
		"/fib":     s.fib,
		"/hash":    s.hash,
		"/id":      s.id,
		"/metrics": fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})),
	}
	return s
}

// handle routes by the path as sent (fasthttp's Path() is normalized and decoded: "//fib"
// would be "/fib"), and instruments every route except /metrics.
func (s *server) handle(ctx *fasthttp.RequestCtx) {
	route := string(ctx.URI().PathOriginal())
	handler, found := s.routes[route]
	if !found {
		route, handler = "unmatched", notFound
	} else if !ctx.IsGet() && !ctx.IsHead() {
		handler = methodNotAllowed
	}
	if s.stopping.Load() {
		ctx.SetConnectionClose() // clients move to other pods
	}
	if route == "/metrics" {
		handler(ctx)
		return
	}
	s.track(ctx, route, handler)
}

func notFound(ctx *fasthttp.RequestCtx) {
	writeError(ctx, fasthttp.StatusNotFound, "not found")
}

func methodNotAllowed(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Allow", "GET, HEAD")
	writeError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
}

// track records duration and in-flight count (nothing with REQUEST_METRICS=off), and turns
// a panic into a JSON 500.
func (s *server) track(ctx *fasthttp.RequestCtx, route string, handler fasthttp.RequestHandler) {
	if s.metrics.Requests {
		s.metrics.Active.Inc()
		defer s.record(ctx, route, time.Now()) // after recoverPanic: sees its 500
	}
	defer recoverPanic(ctx)
	handler(ctx)
}

func (s *server) record(ctx *fasthttp.RequestCtx, route string, start time.Time) {
	s.metrics.Duration.WithLabelValues(refcommon.MethodLabel(string(ctx.Method())), route,
		strconv.Itoa(ctx.Response.StatusCode())).Observe(time.Since(start).Seconds())
	s.metrics.Active.Dec()
}

// recoverPanic, deferred, answers a panic with a JSON 500.
func recoverPanic(ctx *fasthttp.RequestCtx) {
	if err := recover(); err != nil {
		log.Printf("panic serving %s: %v", ctx.Path(), err)
		ctx.Response.Reset()
		writeError(ctx, fasthttp.StatusInternalServerError, "internal error")
	}
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		status, data = fasthttp.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(data)
}

func writeError(ctx *fasthttp.RequestCtx, status int, message string) {
	writeJSON(ctx, status, map[string]string{"error": message})
}

// param reads a query parameter; on bad input it writes the 400 and returns false.
func param(ctx *fasthttp.RequestCtx, name string, def, limit uint64) (uint64, bool) {
	value, err := refcommon.IntParam(string(ctx.URI().QueryString()), name, def, limit)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return 0, false
	}
	return value, true
}

// health answers 200 "ok", or 503 "stopping" once shutdown has begun (so readiness fails
// while the server still serves during SHUTDOWN_DELAY_SECONDS).
func (s *server) health(ctx *fasthttp.RequestCtx) {
	status, text := fasthttp.StatusOK, "ok"
	if s.stopping.Load() {
		status, text = fasthttp.StatusServiceUnavailable, "stopping"
	}
	writeJSON(ctx, status, struct {
		Status    string `json:"status"`
		Runtime   string `json:"runtime"`
		Framework string `json:"framework"`
	}{text, "go", "fasthttp"})
}

// compute adds "Server-Timing: compute;dur=<ms>": the time of the prime loop alone.
func (s *server) compute(ctx *fasthttp.RequestCtx) {
	n, ok := param(ctx, "n", 50_000, refcommon.ComputeCap)
	if !ok {
		return
	}
	start := time.Now()
	primes := refcommon.CountPrimes(n)
	millis := float64(time.Since(start).Nanoseconds()) / 1e6
	ctx.Response.Header.Set("Server-Timing", fmt.Sprintf("compute;dur=%.4f", millis))
	writeJSON(ctx, fasthttp.StatusOK, struct {
		N      uint64 `json:"n"`
		Primes uint64 `json:"primes"`
	}{n, primes})
}

func (s *server) payload(ctx *fasthttp.RequestCtx) {
	if size, ok := param(ctx, "size", 1000, refcommon.PayloadCap); ok {
		writeJSON(ctx, fasthttp.StatusOK, refcommon.Payload(size))
	}
}

func (s *server) fib(ctx *fasthttp.RequestCtx) {
	if n, ok := param(ctx, "n", 30, refcommon.FibCap); ok {
		writeJSON(ctx, fasthttp.StatusOK, struct {
			N      uint64 `json:"n"`
			Result uint64 `json:"result"`
		}{n, refcommon.Fib(n)})
	}
}

func (s *server) hash(ctx *fasthttp.RequestCtx) {
	if rounds, ok := param(ctx, "rounds", 100, refcommon.HashCap); ok {
		writeJSON(ctx, fasthttp.StatusOK, struct {
			Rounds uint64 `json:"rounds"`
			Hash   string `json:"hash"`
		}{rounds, refcommon.HashRounds(rounds)})
	}
}

func (s *server) id(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, struct {
		ID uint64 `json:"id"`
	}{s.ids.Next(uint64(time.Now().UnixMilli()))})
}
