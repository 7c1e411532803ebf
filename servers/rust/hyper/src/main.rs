//! Reference server: hyper 1.x with no framework: a tokio accept loop, one
//! `http1::Builder` connection task per client, routing by a `match` on the path, and
//! hyper-util's `GracefulShutdown` for the drain. See servers/README.md.

mod app;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use refcommon::metrics::Metrics;
use refcommon::settings::Settings;
use refcommon::shutdown::spawn_stopper;
use refcommon::work::Snowflake;
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
    let metrics =
        Metrics::new("hyper", settings.request_metrics).map_err(|e| format!("metrics: {e}"))?;
    let state = Arc::new(app::AppState {
        metrics,
        ids: Snowflake::new(settings.machine_id),
        stopping: AtomicBool::new(false),
    });
    let (drain, mut drain_begins) = oneshot::channel::<()>();
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
        let graceful = GracefulShutdown::new();
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: the connection is lost, the
                        // server is not.
                        eprintln!("refserver: accept: {e}");
                        continue;
                    }
                },
                _ = &mut drain_begins => break,
            };
            let state = state.clone();
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(app::handle(&state, req)) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await; // a client that goes away is no error of ours
            });
        }
        drop(listener); // new connections are refused from here on
        // Idle keep-alive connections close now, the others after their response; the
        // stopper thread ends the process if that takes longer than the timeout.
        graceful.shutdown().await;
        Ok(())
    })
}
