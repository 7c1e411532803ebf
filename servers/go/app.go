package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"podmeter/servers/go/refcommon"
)

// server routes by exact path; every route answers GET and HEAD only.
type server struct {
	metrics  *refcommon.Metrics
	ids      *refcommon.Snowflake
	routes   map[string]http.HandlerFunc
	stopping atomic.Bool // set when a shutdown signal arrives: /health answers 503
}

func newServer(m *refcommon.Metrics, ids *refcommon.Snowflake) *server {
	s := &server{metrics: m, ids: ids}
	s.routes = map[string]http.HandlerFunc{
		"/health":  s.health,
		"/compute": s.compute,
		"/payload": s.payload,
		"/fib":     s.fib,
		"/hash":    s.hash,
		"/id":      s.id,
		"/metrics": promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}).ServeHTTP,
	}
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.URL.EscapedPath()
	handler, found := s.routes[route]
	if !found {
		route, handler = "unmatched", notFound
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		handler = methodNotAllowed
	}
	if route == "/metrics" {
		handler(w, r)
		return
	}
	s.track(w, r, route, handler)
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "not found")
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
}

// track records duration and in-flight count (nothing with REQUEST_METRICS=off), and turns
// a panic into a JSON 500.
func (s *server) track(w http.ResponseWriter, r *http.Request, route string, handler http.HandlerFunc) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if s.metrics.Requests {
		s.metrics.Active.Inc()
		defer s.record(r.Method, route, rec, time.Now()) // after recoverPanic: sees its 500
	}
	defer recoverPanic(rec, r)
	handler(rec, r)
}

func (s *server) record(method, route string, rec *statusRecorder, start time.Time) {
	s.metrics.Duration.WithLabelValues(refcommon.MethodLabel(method), route, strconv.Itoa(rec.status)).
		Observe(time.Since(start).Seconds())
	s.metrics.Active.Dec()
}

// recoverPanic, deferred, answers a panic with a JSON 500 if nothing was written yet.
func recoverPanic(rec *statusRecorder, r *http.Request) {
	if err := recover(); err != nil {
		log.Printf("panic serving %s: %v", r.URL.Path, err)
		if !rec.wrote {
			writeError(rec, http.StatusInternalServerError, "internal error")
		}
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

// param reads a query parameter; on bad input it writes the 400 and returns false.
func param(w http.ResponseWriter, r *http.Request, name string, def, limit uint64) (uint64, bool) {
	value, err := refcommon.IntParam(r.URL.RawQuery, name, def, limit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, false
	}
	return value, true
}

// health answers 200 "ok", or 503 "stopping" once shutdown has begun (so readiness fails
// while the server still serves during SHUTDOWN_DELAY_SECONDS).
func (s *server) health(w http.ResponseWriter, _ *http.Request) {
	status, text := http.StatusOK, "ok"
	if s.stopping.Load() {
		status, text = http.StatusServiceUnavailable, "stopping"
	}
	writeJSON(w, status, struct {
		Status    string `json:"status"`
		Runtime   string `json:"runtime"`
		Framework string `json:"framework"`
	}{text, "go", "net/http"})
}

// compute adds "Server-Timing: compute;dur=<ms>": the time of the prime loop alone.
func (s *server) compute(w http.ResponseWriter, r *http.Request) {
	n, ok := param(w, r, "n", 50_000, refcommon.ComputeCap)
	if !ok {
		return
	}
	start := time.Now()
	primes := refcommon.CountPrimes(n)
	millis := float64(time.Since(start).Nanoseconds()) / 1e6
	w.Header().Set("Server-Timing", fmt.Sprintf("compute;dur=%.4f", millis))
	writeJSON(w, http.StatusOK, struct {
		N      uint64 `json:"n"`
		Primes uint64 `json:"primes"`
	}{n, primes})
}

func (s *server) payload(w http.ResponseWriter, r *http.Request) {
	if size, ok := param(w, r, "size", 1000, refcommon.PayloadCap); ok {
		writeJSON(w, http.StatusOK, refcommon.Payload(size))
	}
}

func (s *server) fib(w http.ResponseWriter, r *http.Request) {
	if n, ok := param(w, r, "n", 30, refcommon.FibCap); ok {
		writeJSON(w, http.StatusOK, struct {
			N      uint64 `json:"n"`
			Result uint64 `json:"result"`
		}{n, refcommon.Fib(n)})
	}
}

func (s *server) hash(w http.ResponseWriter, r *http.Request) {
	if rounds, ok := param(w, r, "rounds", 100, refcommon.HashCap); ok {
		writeJSON(w, http.StatusOK, struct {
			Rounds uint64 `json:"rounds"`
			Hash   string `json:"hash"`
		}{rounds, refcommon.HashRounds(rounds)})
	}
}

func (s *server) id(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		ID uint64 `json:"id"`
	}{s.ids.Next(uint64(time.Now().UnixMilli()))})
}
