//! Reference server: axum on tokio. See servers/README.md.

mod app;
mod work;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

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
    let state = Arc::new(app::AppState {
        metrics,
        ids: work::Snowflake::new(machine_id),
        stopping: AtomicBool::new(false),
    });
    let stop = spawn_stopper(state.clone(), delay, timeout)?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("listen on {addr}: {e}"))?;
        state.metrics.startup.set(started.elapsed().as_secs_f64());
        axum::serve(listener, app::router(state))
            .with_graceful_shutdown(async {
                let _ = stop.await;
            })
            .await
            .map_err(|e| format!("serve: {e}"))
    })
}

/// Waits for SIGTERM or SIGINT on a thread with a small runtime of its own, so that handlers
/// doing their work inline (as `/compute` does) cannot hold it up: while they keep the
/// server's worker threads busy, nobody may be polling the server runtime's I/O driver and
/// timers. At the signal, /health turns 503 and the server keeps serving for `delay` (while
/// the endpoints drop the pod); then the returned receiver completes (the listener closes,
/// in-flight requests finish), and after `timeout` more the process exits regardless.
fn spawn_stopper(
    state: Arc<app::AppState>,
    delay: Duration,
    timeout: Duration,
) -> Result<oneshot::Receiver<()>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("signal runtime: {e}"))?;
    let (mut term, mut int) = {
        let _entered = runtime.enter();
        let term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        let int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
        (term, int)
    };
    let (drain, drain_begins) = oneshot::channel();
    std::thread::Builder::new()
        .name("shutdown".to_owned())
        .spawn(move || {
            let name = runtime.block_on(std::future::poll_fn(|cx| {
                if term.poll_recv(cx).is_ready() {
                    Poll::Ready("SIGTERM")
                } else if int.poll_recv(cx).is_ready() {
                    Poll::Ready("SIGINT")
                } else {
                    Poll::Pending
                }
            }));
            eprintln!(
                "refserver: {name}: shutting down (/health 503 for {}s, then up to {}s for requests in flight)",
                delay.as_secs(),
                timeout.as_secs()
            );
            state.stopping.store(true, Ordering::Relaxed);
            std::thread::sleep(delay);
            let _ = drain.send(());
            std::thread::sleep(timeout);
            eprintln!(
                "refserver: requests still in flight after {}s, exiting",
                timeout.as_secs()
            );
            std::process::exit(0);
        })
        .map_err(|e| format!("shutdown thread: {e}"))?;
    Ok(drain_begins)
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
