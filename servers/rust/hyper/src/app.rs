//! Routing, JSON responses and instrumentation by hand, on hyper's `Request`/`Response`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use refcommon::metrics::{Metrics, ROUTES};
use refcommon::work::{self, Snowflake};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct AppState {
    pub metrics: Metrics,
    pub ids: Snowflake,
    /// Set when a shutdown signal arrives: `/health` answers 503 from then on.
    pub stopping: AtomicBool,
}

type Reply = Response<Full<Bytes>>;

/// Routes a request and records it (except `/metrics`, and nothing with
/// `REQUEST_METRICS=off`); once shutdown has begun, every
/// response says `Connection: close`, so keep-alive clients reconnect elsewhere. The body of
/// the request is never read: every route is a GET.
pub fn handle<B>(state: &AppState, req: Request<B>) -> Reply {
    let route = ROUTES
        .into_iter()
        .find(|route| *route == req.uri().path())
        .unwrap_or("unmatched");
    let mut response = if route == "/metrics" || !state.metrics.records_requests() {
        dispatch(state, route, &req)
    } else {
        let _in_flight = state.metrics.in_flight();
        let start = Instant::now();
        let response = dispatch(state, route, &req);
        state.metrics.observe(
            req.method().as_str(),
            route,
            response.status().as_u16(),
            start.elapsed().as_secs_f64(),
        );
        response
    };
    if state.stopping.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn dispatch<B>(state: &AppState, route: &str, req: &Request<B>) -> Reply {
    if route == "unmatched" {
        return error(StatusCode::NOT_FOUND, "not found");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let query = req.uri().query().unwrap_or("");
    let result = match route {
        "/health" => Ok(health(state)),
        "/compute" => compute(query),
        "/payload" => param(query, "size", 1000, work::PAYLOAD_CAP)
            .map(|size| json(StatusCode::OK, &work::payload(size))),
        "/fib" => param(query, "n", 30, work::FIB_CAP).map(|n| {
            json(
                StatusCode::OK,
                &Fib {
                    n,
                    result: work::fib(n),
                },
            )
        }),
        "/hash" => param(query, "rounds", 100, work::HASH_CAP).map(|rounds| {
            json(
                StatusCode::OK,
                &Hash {
                    rounds,
                    hash: work::hash_rounds(rounds),
                },
            )
        }),
        "/id" => Ok(id(state)),
        _ => Ok(metrics(state)),
    };
    result.unwrap_or_else(|response| response)
}

fn json(status: StatusCode, body: &impl Serialize) -> Reply {
    match serde_json::to_vec(body) {
        Ok(bytes) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .unwrap_or_else(|_| internal_error()),
        Err(_) => internal_error(),
    }
}

fn internal_error() -> Reply {
    let mut response = Response::new(Full::new(Bytes::from_static(
        br#"{"error":"internal error"}"#,
    )));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

fn error(status: StatusCode, message: &str) -> Reply {
    json(status, &ErrorBody { error: message })
}

/// The query parameter `name`, or the 400 that says what was wrong with it.
fn param(query: &str, name: &str, default: u64, cap: u64) -> Result<u64, Reply> {
    work::int_param(query, name, default, cap)
        .map_err(|message| error(StatusCode::BAD_REQUEST, &message))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    runtime: &'static str,
    framework: &'static str,
}

/// 200 `ok`, or 503 `stopping` once shutdown has begun (so readiness fails while the
/// server still serves during `SHUTDOWN_DELAY_SECONDS`).
fn health(state: &AppState) -> Reply {
    let (status, text) = if state.stopping.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping")
    } else {
        (StatusCode::OK, "ok")
    };
    json(
        status,
        &Health {
            status: text,
            runtime: "rust",
            framework: "hyper",
        },
    )
}

#[derive(Serialize)]
struct Primes {
    n: u64,
    primes: u64,
}

/// Adds `Server-Timing: compute;dur=<ms>`: the time of the prime loop alone.
fn compute(query: &str) -> Result<Reply, Reply> {
    let n = param(query, "n", 50_000, work::COMPUTE_CAP)?;
    let start = Instant::now();
    let primes = work::count_primes(n);
    let millis = start.elapsed().as_secs_f64() * 1e3;
    let mut response = json(StatusCode::OK, &Primes { n, primes });
    if let Ok(timing) = HeaderValue::from_str(&format!("compute;dur={millis:.4}")) {
        response.headers_mut().insert("server-timing", timing);
    }
    Ok(response)
}

#[derive(Serialize)]
struct Fib {
    n: u64,
    result: u64,
}

#[derive(Serialize)]
struct Hash {
    rounds: u64,
    hash: String,
}

#[derive(Serialize)]
struct Id {
    id: u64,
}

fn id(state: &AppState) -> Reply {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    json(
        StatusCode::OK,
        &Id {
            id: state.ids.next(now_ms),
        },
    )
}

fn metrics(state: &AppState) -> Reply {
    match state.metrics.exposition() {
        Ok((body, content_type)) => Response::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| internal_error()),
        Err(_) => internal_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn state() -> AppState {
        AppState {
            metrics: Metrics::new("hyper", true).expect("metrics"),
            ids: Snowflake::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    async fn call(state: &AppState, method: &str, uri: &str) -> (u16, String) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .expect("request");
        let response = handle(state, req);
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn endpoints_answer_json_and_are_counted() {
        let state = state();
        let cases = [
            (
                "GET",
                "/health",
                200,
                r#"{"status":"ok","runtime":"rust","framework":"hyper"}"#,
            ),
            ("GET", "/compute?n=10", 200, r#"{"n":10,"primes":4}"#),
            (
                "GET",
                "/fib?n=41",
                400,
                r#"{"error":"n must be at most 40"}"#,
            ),
            ("GET", "/fib/", 404, r#"{"error":"not found"}"#),
            ("POST", "/fib", 405, r#"{"error":"method not allowed"}"#),
        ];
        for (method, uri, status, body) in cases {
            assert_eq!(
                call(&state, method, uri).await,
                (status, body.to_owned()),
                "{method} {uri}"
            );
        }
        let (_, text) = call(&state, "GET", "/metrics").await;
        for line in [
            r#"http_server_request_duration_seconds_count{method="POST",route="/fib",status="405"} 1"#,
            r#"http_server_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1"#,
            "http_server_active_requests 0",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(!text.contains(r#"route="/metrics""#));
        state.stopping.store(true, Ordering::Relaxed);
        assert_eq!(call(&state, "GET", "/health").await.0, 503);
    }
}
