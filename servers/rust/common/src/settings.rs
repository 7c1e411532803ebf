//! The environment settings every server reads (servers/README.md, "Environment").

use crate::work::MACHINE_ID_MAX;
use std::time::Duration;

/// The largest `SHUTDOWN_DELAY_SECONDS` and `SHUTDOWN_TIMEOUT_SECONDS`.
pub const SHUTDOWN_SECONDS_MAX: u64 = 3600;

pub struct Settings {
    /// `HOST:PORT`.
    pub addr: String,
    pub machine_id: u64,
    /// After the signal: serve with `/health` 503 this long.
    pub shutdown_delay: Duration,
    /// Then wait at most this long for requests in flight.
    pub shutdown_timeout: Duration,
    /// `REQUEST_METRICS`: record every request in `http_server_*` (`on`, the default), or
    /// not (`off`: the families are not registered; for measuring what they cost).
    pub request_metrics: bool,
}

impl Settings {
    /// From the process environment; the error is the one-line start-up error.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str, default: &str| {
            get(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let host = var("HOST", "0.0.0.0");
        let port = var("PORT", "8080");
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let machine_id = match var("MACHINE_ID", "0").parse::<u64>() {
            Ok(id) if id <= MACHINE_ID_MAX => id,
            _ => {
                return Err(format!(
                    "MACHINE_ID must be an integer 0..={MACHINE_ID_MAX}"
                ));
            }
        };
        let seconds = |name: &str, default: &str| match var(name, default).parse::<u64>() {
            Ok(s) if s <= SHUTDOWN_SECONDS_MAX => Ok(Duration::from_secs(s)),
            _ => Err(format!(
                "{name} must be an integer 0..={SHUTDOWN_SECONDS_MAX}"
            )),
        };
        let request_metrics = match var("REQUEST_METRICS", "on").as_str() {
            "on" => true,
            "off" => false,
            _ => return Err("REQUEST_METRICS must be on or off".to_owned()),
        };
        Ok(Settings {
            addr,
            machine_id,
            shutdown_delay: seconds("SHUTDOWN_DELAY_SECONDS", "0")?,
            shutdown_timeout: seconds("SHUTDOWN_TIMEOUT_SECONDS", "5")?,
            request_metrics,
        })
    }
}

/// The message of the shutdown's first line, after `refserver: SIGTERM: `.
pub fn shutdown_message(delay: Duration, timeout: Duration) -> String {
    format!(
        "shutting down (/health 503 for {}s, then up to {}s for requests in flight)",
        delay.as_secs(),
        timeout.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_and_errors() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.addr, "0.0.0.0:8080");
        assert_eq!(
            (
                s.machine_id,
                s.shutdown_delay.as_secs(),
                s.shutdown_timeout.as_secs()
            ),
            (0, 0, 5)
        );
        assert_eq!(
            settings(&[("HOST", "::1"), ("PORT", "9")])
                .expect("v6")
                .addr,
            "[::1]:9"
        );
        assert!(settings(&[("MACHINE_ID", "1024")]).is_err());
        assert!(settings(&[("SHUTDOWN_DELAY_SECONDS", "3601")]).is_err());
        assert!(settings(&[("SHUTDOWN_TIMEOUT_SECONDS", "-1")]).is_err());
        assert!(s.request_metrics);
        assert!(
            !settings(&[("REQUEST_METRICS", "off")])
                .expect("off")
                .request_metrics
        );
        assert!(
            settings(&[("REQUEST_METRICS", "on")])
                .expect("on")
                .request_metrics
        );
        assert_eq!(
            settings(&[("REQUEST_METRICS", "0")]).err().as_deref(),
            Some("REQUEST_METRICS must be on or off")
        );
    }
}
