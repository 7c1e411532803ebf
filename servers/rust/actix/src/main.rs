//! Reference server: actix-web 4 (one single-threaded runtime per worker, as many workers as
//! physical cores). See servers/README.md.

mod app;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use refcommon::metrics::Metrics;
use refcommon::settings::Settings;
use refcommon::shutdown::spawn_stopper;
use refcommon::work::Snowflake;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

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
    let metrics =
        Metrics::new("actix-web", settings.request_metrics).map_err(|e| format!("metrics: {e}"))?;
    let state = Arc::new(app::AppState {
        metrics,
        ids: Snowflake::new(settings.machine_id),
        stopping: AtomicBool::new(false),
    });
    actix_web::rt::System::new().block_on(async {
        let addr = &settings.addr;
        let app_state = state.clone();
        // actix's own signal handling would stop at once; ours waits SHUTDOWN_DELAY_SECONDS.
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(app::track))
                .configure(app::configure(app_state.clone()))
        })
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .bind(addr)
        .map_err(|e| format!("listen on {addr}: {e}"))?;
        state.metrics.startup.set(started.elapsed().as_secs_f64());
        let server = server.run();
        let handle = server.handle();
        let flag = state.clone();
        spawn_stopper(
            settings.shutdown_delay,
            settings.shutdown_timeout,
            move || flag.stopping.store(true, Ordering::Relaxed),
            move || {
                // Sends the graceful stop now: the acceptor closes the listener, the workers
                // finish their requests within shutdown_timeout.
                let _ = handle.stop(true);
            },
        )?;
        server.await.map_err(|e| format!("serve: {e}"))
    })
}
