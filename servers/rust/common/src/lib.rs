//! What the Rust reference servers (axum, actix-web, hyper) share, so that a difference
//! between them is the framework's: the work behind each endpoint, the Prometheus metrics,
//! and the environment settings. See servers/README.md.

pub mod metrics;
pub mod settings;
pub mod shutdown;
pub mod work;
