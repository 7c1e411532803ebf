//! The shared metric names, labels, buckets and help texts (see servers/README.md).

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntGauge, Opts, Registry, TextEncoder,
};

pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The rustc version, for `refserver_build_info{version}`.
pub const RUSTC_VERSION: &str = env!("REFSERVER_RUSTC_VERSION");

pub struct Metrics {
    pub registry: Registry,
    pub startup: Gauge,
    duration: HistogramVec,
    active: IntGauge,
    requests: bool,
}

impl Metrics {
    /// The registry of a server built with `framework` (`axum`, `actix-web`, `hyper`). With
    /// `requests` false (`REQUEST_METRICS=off`) the request families are not registered and
    /// the servers' middleware records nothing (see [`Metrics::records_requests`]).
    pub fn new(framework: &str, requests: bool) -> prometheus::Result<Self> {
        let registry = Registry::new();
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_server_request_duration_seconds",
                "Duration of HTTP requests handled by the application.",
            )
            .buckets(BUCKETS.to_vec()),
            &["method", "route", "status"],
        )?;
        let active = IntGauge::new(
            "http_server_active_requests",
            "HTTP requests being handled now.",
        )?;
        let build_info = GaugeVec::new(
            Opts::new(
                "refserver_build_info",
                "Reference server runtime and framework; always 1.",
            ),
            &["runtime", "framework", "version"],
        )?;
        build_info
            .with_label_values(&["rust", framework, RUSTC_VERSION])
            .set(1.0);
        let startup = Gauge::new(
            "refserver_startup_seconds",
            "Seconds from the first line of main to the listening socket.",
        )?;
        if requests {
            registry.register(Box::new(duration.clone()))?;
            registry.register(Box::new(active.clone()))?;
        }
        registry.register(Box::new(build_info))?;
        registry.register(Box::new(startup.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Metrics {
            registry,
            startup,
            duration,
            active,
            requests,
        })
    }

    /// Whether requests are recorded: the middleware of every server checks this first and
    /// passes the request straight on when it is false.
    pub fn records_requests(&self) -> bool {
        self.requests
    }

    /// Counts a request in `http_server_active_requests` until the guard is dropped, even if
    /// the client goes away and the request future is dropped.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.active.inc();
        InFlight(&self.active)
    }

    /// Records one request's duration.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.duration
            .with_label_values(&[method_label(method), route, &status.to_string()])
            .observe(seconds);
    }

    /// The text exposition and its content type.
    pub fn exposition(&self) -> prometheus::Result<(Vec<u8>, String)> {
        let mut body = Vec::new();
        let encoder = TextEncoder::new();
        encoder.encode(&self.registry.gather(), &mut body)?;
        Ok((body, encoder.format_type().to_owned()))
    }
}

pub struct InFlight<'a>(&'a IntGauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The method, or `_OTHER` for non-standard ones, to bound label cardinality.
pub fn method_label(method: &str) -> &str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("_OTHER")
}

/// The exact-path routes; anything else is `unmatched` (paths match exactly: `/fib/` too).
pub const ROUTES: [&str; 7] = [
    "/health", "/compute", "/payload", "/fib", "/hash", "/id", "/metrics",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_label_and_in_flight() {
        let metrics = Metrics::new("test", true).expect("metrics");
        {
            let _guard = metrics.in_flight();
            metrics.observe("BREW", "unmatched", 404, 0.001);
            let text = String::from_utf8(metrics.exposition().expect("text").0).expect("utf8");
            assert!(text.contains("http_server_active_requests 1"), "{text}");
        }
        let text = String::from_utf8(metrics.exposition().expect("text").0).expect("utf8");
        for line in [
            "http_server_active_requests 0",
            r#"http_server_request_duration_seconds_count{method="_OTHER",route="unmatched",status="404"} 1"#,
            r#"refserver_build_info{framework="test",runtime="rust","#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn off_registers_no_request_families() {
        let metrics = Metrics::new("test", false).expect("metrics");
        assert!(!metrics.records_requests());
        let text = String::from_utf8(metrics.exposition().expect("text").0).expect("utf8");
        assert!(!text.contains("http_server_"), "{text}");
        assert!(text.contains("refserver_build_info{"), "{text}");
    }
}
