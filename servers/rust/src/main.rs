//! Reference server: axum on tokio. See servers/README.md.

mod app;
mod work;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The largest `SHUTDOWN_DELAY_SECONDS` and `SHUTDOWN_TIMEOUT_SECONDS`.
const SHUTDOWN_SECONDS_MAX: u64 = 3600;

fn main() -> ExitCode {
    let started = Instant::now();
    match serve(started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("refserver: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(started: Instant) -> Result<(), String> {
    let addr = format!("{}:{}", env_or("HOST", "0.0.0.0"), env_or("PORT", "8080"));
    let machine_id = match env_or("MACHINE_ID", "0").parse::<u64>() {
        Ok(id) if id <= work::MACHINE_ID_MAX => id,
        _ => {
            return Err(format!(
                "MACHINE_ID must be an integer 0..={}",
                work::MACHINE_ID_MAX
            ));
        }
    };
    let delay = seconds_env("SHUTDOWN_DELAY_SECONDS", "0")?;
    let timeout = seconds_env("SHUTDOWN_TIMEOUT_SECONDS", "5")?;
    let metrics = app::Metrics::new().map_err(|e| format!("metrics: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("listen on {addr}: {e}"))?;
        metrics.startup.set(started.elapsed().as_secs_f64());
        let term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        let int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
        let state = Arc::new(app::AppState {
            metrics,
            ids: work::Snowflake::new(machine_id),
            stopping: AtomicBool::new(false),
        });
        let stop = stop_on_signal(term, int, state.clone(), delay, timeout);
        axum::serve(listener, app::router(state))
            .with_graceful_shutdown(stop)
            .await
            .map_err(|e| format!("serve: {e}"))
    })
}

/// Completes when the server should stop accepting connections: at SIGTERM or SIGINT,
/// /health turns 503, the server keeps serving for `delay` (while the endpoints drop the
/// pod), then the listener closes and in-flight requests get `timeout` to finish before
/// the process exits anyway.
async fn stop_on_signal(
    mut term: Signal,
    mut int: Signal,
    state: Arc<app::AppState>,
    delay: Duration,
    timeout: Duration,
) {
    let name = std::future::poll_fn(|cx| {
        if term.poll_recv(cx).is_ready() {
            Poll::Ready("SIGTERM")
        } else if int.poll_recv(cx).is_ready() {
            Poll::Ready("SIGINT")
        } else {
            Poll::Pending
        }
    })
    .await;
    eprintln!(
        "refserver: {name}: shutting down (/health 503 for {}s, then up to {}s for requests in flight)",
        delay.as_secs(),
        timeout.as_secs()
    );
    state.stopping.store(true, Ordering::Relaxed);
    tokio::time::sleep(delay).await;
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        eprintln!(
            "refserver: requests still in flight after {}s, exiting",
            timeout.as_secs()
        );
        std::process::exit(0);
    });
}

fn seconds_env(name: &str, default: &str) -> Result<Duration, String> {
    match env_or(name, default).parse::<u64>() {
        Ok(s) if s <= SHUTDOWN_SECONDS_MAX => Ok(Duration::from_secs(s)),
        _ => Err(format!(
            "{name} must be an integer 0..={SHUTDOWN_SECONDS_MAX}"
        )),
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}
