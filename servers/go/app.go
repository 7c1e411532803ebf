package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics holds the shared metric names, labels and help texts (see servers/README.md).
type metrics struct {
	registry *prometheus.Registry
	startup  prometheus.Gauge
	duration *prometheus.HistogramVec
	active   prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_server_request_duration_seconds",
			Help:    "Duration of HTTP requests handled by the application.",
			Buckets: buckets,
		}, []string{"method", "route", "status"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_active_requests",
			Help: "HTTP requests being handled now.",
		}),
		startup: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "refserver_startup_seconds",
			Help: "Seconds from the first line of main to the listening socket.",
		}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "refserver_build_info",
		Help: "Reference server runtime and framework; always 1.",
	}, []string{"runtime", "framework", "version"})
	buildInfo.WithLabelValues("go", "net/http", strings.TrimPrefix(runtime.Version(), "go")).Set(1)
	m.registry.MustRegister(m.duration, m.active, m.startup, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// server routes by exact path; every route answers GET and HEAD only.
type server struct {
	metrics  *metrics
	ids      *snowflake
	routes   map[string]http.HandlerFunc
	stopping atomic.Bool // set when a shutdown signal arrives: /health answers 503
}

func newServer(m *metrics, ids *snowflake) *server {
	s := &server{metrics: m, ids: ids}
	s.routes = map[string]http.HandlerFunc{
		"/health":  s.health,
		"/compute": s.compute,
		"/payload": s.payload,
		"/fib":     s.fib,
		"/hash":    s.hash,
		"/id":      s.id,
		"/metrics": promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}).ServeHTTP,
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

// track records duration and in-flight count, and turns a panic into a JSON 500.
func (s *server) track(w http.ResponseWriter, r *http.Request, route string, handler http.HandlerFunc) {
	s.metrics.active.Inc()
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if err := recover(); err != nil {
			log.Printf("panic serving %s: %v", r.URL.Path, err)
			if !rec.wrote {
				writeError(rec, http.StatusInternalServerError, "internal error")
			}
		}
		s.metrics.duration.WithLabelValues(methodLabel(r.Method), route, strconv.Itoa(rec.status)).
			Observe(time.Since(start).Seconds())
		s.metrics.active.Dec()
	}()
	handler(rec, r)
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

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}

// methodLabel returns the method, or _OTHER for non-standard ones, to bound label cardinality.
func methodLabel(method string) string {
	if slices.Contains(knownMethods, method) {
		return method
	}
	return "_OTHER"
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
	value, err := intParam(r.URL.RawQuery, name, def, limit)
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
	n, ok := param(w, r, "n", 50_000, computeCap)
	if !ok {
		return
	}
	start := time.Now()
	primes := countPrimes(n)
	millis := float64(time.Since(start).Nanoseconds()) / 1e6
	w.Header().Set("Server-Timing", fmt.Sprintf("compute;dur=%.4f", millis))
	writeJSON(w, http.StatusOK, struct {
		N      uint64 `json:"n"`
		Primes uint64 `json:"primes"`
	}{n, primes})
}

func (s *server) payload(w http.ResponseWriter, r *http.Request) {
	if size, ok := param(w, r, "size", 1000, payloadCap); ok {
		writeJSON(w, http.StatusOK, payload(size))
	}
}

func (s *server) fib(w http.ResponseWriter, r *http.Request) {
	if n, ok := param(w, r, "n", 30, fibCap); ok {
		writeJSON(w, http.StatusOK, struct {
			N      uint64 `json:"n"`
			Result uint64 `json:"result"`
		}{n, fib(n)})
	}
}

func (s *server) hash(w http.ResponseWriter, r *http.Request) {
	if rounds, ok := param(w, r, "rounds", 100, hashCap); ok {
		writeJSON(w, http.StatusOK, struct {
			Rounds uint64 `json:"rounds"`
			Hash   string `json:"hash"`
		}{rounds, hashRounds(rounds)})
	}
}

func (s *server) id(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		ID uint64 `json:"id"`
	}{s.ids.next(uint64(time.Now().UnixMilli()))})
}
