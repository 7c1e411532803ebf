//! Reference server: axum on tokio. See servers/README.md.

mod app;
mod work;

use std::process::ExitCode;
use std::sync::Arc;
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
    let metrics = app::Metrics::new().map_err(|e| format!("metrics: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("listen on {addr}: {e}"))?;
        metrics.startup.set(started.elapsed().as_secs_f64());
        let state = Arc::new(app::AppState {
            metrics,
            ids: work::Snowflake::new(machine_id),
        });
        axum::serve(listener, app::router(state))
            .await
            .map_err(|e| format!("serve: {e}"))
    })
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}
