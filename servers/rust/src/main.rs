//! Reference server: axum on tokio. See servers/README.md.

mod app;

use refcommon::settings::Settings;
use refcommon::shutdown::spawn_stopper;
use refcommon::work;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::oneshot;

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
    let settings = Settings::from_env()?;
    let metrics = refcommon::metrics::Metrics::new("axum", settings.request_metrics)
        .map_err(|e| format!("metrics: {e}"))?;
    let state = Arc::new(app::AppState {
        metrics,
        ids: work::Snowflake::new(settings.machine_id),
        stopping: AtomicBool::new(false),
    });
    let (drain, drain_begins) = oneshot::channel::<()>();
    let flag = state.clone();
    spawn_stopper(
        settings.shutdown_delay,
        settings.shutdown_timeout,
        move || flag.stopping.store(true, Ordering::Relaxed),
        move || {
            let _ = drain.send(());
        },
    )?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        let addr = &settings.addr;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("listen on {addr}: {e}"))?;
        state.metrics.startup.set(started.elapsed().as_secs_f64());
        axum::serve(listener, app::router(state))
            .with_graceful_shutdown(async {
                let _ = drain_begins.await;
            })
            .await
            .map_err(|e| format!("serve: {e}"))
    })
}
