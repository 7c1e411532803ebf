//! The shutdown sequence all three Rust servers share (servers/README.md, "Shutdown").

use crate::settings::shutdown_message;
use std::task::Poll;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// Waits for SIGTERM or SIGINT on a thread with a small runtime of its own, so that handlers
/// doing their work inline (as `/compute` does) cannot hold it up: while they keep the
/// server's worker threads busy, nobody may be polling the server runtime's I/O driver and
/// timers. At the signal: one line on stderr, `stopping()` (/health turns 503), `delay` of
/// serving on (while the endpoints drop the pod), `drain()` (the server closes its listener
/// and finishes requests in flight), and after `timeout` more the process exits 0 regardless.
pub fn spawn_stopper(
    delay: Duration,
    timeout: Duration,
    stopping: impl FnOnce() + Send + 'static,
    drain: impl FnOnce() + Send + 'static,
) -> Result<(), String> {
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
            eprintln!("refserver: {name}: {}", shutdown_message(delay, timeout));
            stopping();
            std::thread::sleep(delay);
            drain();
            std::thread::sleep(timeout);
            eprintln!(
                "refserver: requests still in flight after {}s, exiting",
                timeout.as_secs()
            );
            std::process::exit(0);
        })
        .map_err(|e| format!("shutdown thread: {e}"))?;
    Ok(())
}
