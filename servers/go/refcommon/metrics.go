package refcommon

import (
	"runtime"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Buckets of http_server_request_duration_seconds (servers/README.md).
var Buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics holds the shared metric names, labels and help texts (see servers/README.md).
type Metrics struct {
	Registry *prometheus.Registry
	Startup  prometheus.Gauge
	Duration *prometheus.HistogramVec
	Active   prometheus.Gauge
	// Requests says whether requests are recorded (REQUEST_METRICS): the servers' middleware
	// checks it first and, when false, passes the request straight on.
	Requests bool
}

// NewMetrics registers the shared metrics of a server built with framework (net/http,
// fasthttp), the Go collector and the process collector. With requests false
// (REQUEST_METRICS=off) the request families are not registered.
func NewMetrics(framework string, requests bool) *Metrics {
	m := &Metrics{
		Requests: requests,
		Registry: prometheus.NewRegistry(),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_server_request_duration_seconds",
			Help:    "Duration of HTTP requests handled by the application.",
			Buckets: Buckets,
		}, []string{"method", "route", "status"}),
		Active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_active_requests",
			Help: "HTTP requests being handled now.",
		}),
		Startup: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "refserver_startup_seconds",
			Help: "Seconds from the first line of main to the listening socket.",
		}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "refserver_build_info",
		Help: "Reference server runtime and framework; always 1.",
	}, []string{"runtime", "framework", "version"})
	buildInfo.WithLabelValues("go", framework, strings.TrimPrefix(runtime.Version(), "go")).Set(1)
	m.Registry.MustRegister(m.Startup, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if requests {
		m.Registry.MustRegister(m.Duration, m.Active)
	}
	return m
}

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}

// MethodLabel returns the method, or _OTHER for non-standard ones, to bound label cardinality.
func MethodLabel(method string) string {
	if slices.Contains(knownMethods, method) {
		return method
	}
	return "_OTHER"
}
