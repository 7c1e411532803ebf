// cadvisor-lib: a stand-in for the cAdvisor binary, for bench/compare only. The Go module proxy
// does not serve cAdvisor's cmd module, so this small main wires cAdvisor's own library packages
// (github.com/google/cadvisor/lib, pinned in go.mod) the way its cmd does: in-memory cache,
// manager with the raw cgroup handler, housekeeping every --housekeeping, the Prometheus
// collector on /metrics. Only the metric kinds podmeter also has are enabled (cpu, memory,
// process, oom_event); docker/containerd/crio/systemd plugins are not linked in.
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/google/cadvisor/lib/cache/memory"
	"github.com/google/cadvisor/lib/container"
	"github.com/google/cadvisor/lib/manager"
	"github.com/google/cadvisor/lib/metrics"
	info "github.com/google/cadvisor/lib/model"
	"github.com/google/cadvisor/lib/utils/sysfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/utils/clock"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "address for /metrics (loopback)")
	housekeeping := flag.Duration("housekeeping", time.Second, "per-container housekeeping interval")
	rawPrefixes := flag.String("raw-cgroup-prefix-whitelist", "",
		"comma-separated cgroup prefixes the raw handler accepts (cAdvisor's default \"\": all)")
	flag.Parse()

	metricSet := container.MetricSet{
		container.CpuUsageMetrics:    struct{}{},
		container.MemoryUsageMetrics: struct{}{},
		container.ProcessMetrics:     struct{}{},
		container.OOMMetrics:         struct{}{},
	}
	allowDynamic := false
	hk := manager.HousekeepingConfig{Interval: housekeeping, AllowDynamic: &allowDynamic}
	cache := memory.New(2*time.Minute, nil)
	m, err := manager.New(cache, sysfs.NewRealSysFs(), hk, metricSet,
		strings.Split(*rawPrefixes, ","), nil, "", 0)
	if err != nil {
		log.Fatalf("manager: %v", err)
	}
	if err := m.Start(); err != nil {
		log.Fatalf("manager start: %v", err)
	}
	reg := prometheus.NewRegistry()
	opts := info.RequestOptions{IdType: "name", Count: 1, Recursive: true}
	reg.MustRegister(metrics.NewPrometheusCollector(m, nil, metricSet, clock.RealClock{}, opts))
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Printf("cadvisor-lib (cAdvisor library stand-in) on %s, housekeeping %v", *listen, *housekeeping)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
