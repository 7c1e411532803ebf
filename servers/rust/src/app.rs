//! HTTP routes, JSON responses and Prometheus instrumentation.

use axum::{
    Json, Router,
    extract::{MatchedPath, RawQuery, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};
use refcommon::metrics::Metrics;
use refcommon::work::{self, Snowflake};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct AppState {
    pub metrics: Metrics,
    pub ids: Snowflake,
    /// Set when a shutdown signal arrives: `/health` answers 503 from then on.
    pub stopping: AtomicBool,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get_only(health))
        .route("/compute", get_only(compute))
        .route("/payload", get_only(payload))
        .route("/fib", get_only(fib))
        .route("/hash", get_only(hash))
        .route("/id", get_only(id))
        .route("/metrics", get_only(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            close_when_stopping,
        ))
        .with_state(state)
}

/// GET (and so HEAD) only; any other method gets the JSON 405.
fn get_only<H, T>(handler: H) -> MethodRouter<Arc<AppState>>
where
    H: axum::handler::Handler<T, Arc<AppState>>,
    T: 'static,
{
    get(handler).fallback(method_not_allowed)
}

/// Records duration and in-flight count of every request except `/metrics` (nothing with
/// `REQUEST_METRICS=off`).
async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !state.metrics.records_requests() {
        return next.run(req).await;
    }
    let route = match req.extensions().get::<MatchedPath>() {
        Some(path) if path.as_str() == "/metrics" => return next.run(req).await,
        Some(path) => path.as_str().to_owned(),
        None => "unmatched".to_owned(),
    };
    let method = req.method().clone();
    let metrics = &state.metrics;
    let _in_flight = metrics.in_flight();
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.observe(
        method.as_str(),
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// Once shutdown has begun, every response says `Connection: close`, so keep-alive
/// clients reconnect (through the Service, to another pod) instead of reusing this one.
async fn close_when_stopping(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let mut response = next.run(req).await;
    if state.stopping.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorBody { error: message })).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

async fn method_not_allowed() -> Response {
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// A bad query parameter; answers 400 with what was wrong.
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        error(StatusCode::BAD_REQUEST, &self.0)
    }
}

/// The query parameter `name`, or what was wrong with it.
fn param(query: Option<&str>, name: &str, default: u64, cap: u64) -> Result<u64, BadRequest> {
    work::int_param(query.unwrap_or(""), name, default, cap).map_err(BadRequest)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    runtime: &'static str,
    framework: &'static str,
}

/// 200 `ok`, or 503 `stopping` once shutdown has begun (so readiness fails while the
/// server still serves during `SHUTDOWN_DELAY_SECONDS`).
async fn health(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Health>) {
    let (status, text) = if state.stopping.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping")
    } else {
        (StatusCode::OK, "ok")
    };
    let body = Health {
        status: text,
        runtime: "rust",
        framework: "axum",
    };
    (status, Json(body))
}

#[derive(Serialize)]
struct Primes {
    n: u64,
    primes: u64,
}

/// Adds `Server-Timing: compute;dur=<ms>`: the time of the prime loop alone.
async fn compute(RawQuery(query): RawQuery) -> Result<Response, BadRequest> {
    let n = param(query.as_deref(), "n", 50_000, work::COMPUTE_CAP)?;
    let start = Instant::now();
    let primes = work::count_primes(n);
    let millis = start.elapsed().as_secs_f64() * 1e3;
    let mut response = Json(Primes { n, primes }).into_response();
    if let Ok(timing) = HeaderValue::from_str(&format!("compute;dur={millis:.4}")) {
        response.headers_mut().insert("server-timing", timing);
    }
    Ok(response)
}

async fn payload(RawQuery(query): RawQuery) -> Result<Json<Vec<work::Item>>, BadRequest> {
    let size = param(query.as_deref(), "size", 1000, work::PAYLOAD_CAP)?;
    Ok(Json(work::payload(size)))
}

#[derive(Serialize)]
struct Fib {
    n: u64,
    result: u64,
}

async fn fib(RawQuery(query): RawQuery) -> Result<Json<Fib>, BadRequest> {
    let n = param(query.as_deref(), "n", 30, work::FIB_CAP)?;
    Ok(Json(Fib {
        n,
        result: work::fib(n),
    }))
}

#[derive(Serialize)]
struct Hash {
    rounds: u64,
    hash: String,
}

async fn hash(RawQuery(query): RawQuery) -> Result<Json<Hash>, BadRequest> {
    let rounds = param(query.as_deref(), "rounds", 100, work::HASH_CAP)?;
    Ok(Json(Hash {
        rounds,
        hash: work::hash_rounds(rounds),
    }))
}

#[derive(Serialize)]
struct Id {
    id: u64,
}

async fn id(State(state): State<Arc<AppState>>) -> Json<Id> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Json(Id {
        id: state.ids.next(now_ms),
    })
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match state.metrics.exposition() {
        Ok((body, content_type)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use tower::ServiceExt;

    fn app() -> (Arc<AppState>, Router) {
        let state = Arc::new(AppState {
            metrics: Metrics::new("axum", true).expect("metrics"),
            ids: Snowflake::new(0),
            stopping: AtomicBool::new(false),
        });
        (state.clone(), router(state))
    }

    async fn call(app: &Router, method: &str, uri: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn endpoints_answer_json() {
        let (_, app) = app();
        let cases = [
            (
                "GET",
                "/health",
                200,
                r#"{"status":"ok","runtime":"rust","framework":"axum"}"#,
            ),
            ("GET", "/compute", 200, r#"{"n":50000,"primes":5133}"#),
            ("GET", "/compute?n=10", 200, r#"{"n":10,"primes":4}"#),
            ("GET", "/fib?n=10", 200, r#"{"n":10,"result":55}"#),
            ("GET", "/payload?size=0", 200, "[]"),
            (
                "GET",
                "/hash?rounds=0",
                200,
                r#"{"rounds":0,"hash":"706f646d65746572"}"#,
            ),
            (
                "GET",
                "/fib?n=41",
                400,
                r#"{"error":"n must be at most 40"}"#,
            ),
            (
                "GET",
                "/compute?n=x",
                400,
                r#"{"error":"n must be an integer"}"#,
            ),
            ("GET", "/nope", 404, r#"{"error":"not found"}"#),
            ("POST", "/fib", 405, r#"{"error":"method not allowed"}"#),
        ];
        for (method, uri, status, body) in cases {
            assert_eq!(
                call(&app, method, uri).await,
                (
                    StatusCode::from_u16(status).expect("status"),
                    body.to_owned()
                ),
                "{method} {uri}"
            );
        }
    }

    #[tokio::test]
    async fn health_is_503_once_stopping() {
        let (state, app) = app();
        state.stopping.store(true, Ordering::Relaxed);
        assert_eq!(
            call(&app, "GET", "/health").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"stopping","runtime":"rust","framework":"axum"}"#.to_owned()
            )
        );
        assert_eq!(call(&app, "GET", "/fib?n=10").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn ids_increase() {
        let (_, app) = app();
        let (_, a) = call(&app, "GET", "/id").await;
        let (_, b) = call(&app, "GET", "/id").await;
        let id = |s: &str| {
            serde_json::from_str::<serde_json::Value>(s)
                .ok()
                .and_then(|v| v["id"].as_u64())
        };
        assert!(id(&a) < id(&b));
    }

    #[tokio::test]
    async fn metrics_count_by_route_template() {
        let (_, app) = app();
        call(&app, "GET", "/fib?n=1").await;
        call(&app, "DELETE", "/fib").await;
        call(&app, "BREW", "/a/b").await;
        call(&app, "GET", "/metrics").await;
        let (status, text) = call(&app, "GET", "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        for line in [
            r#"http_server_request_duration_seconds_count{method="GET",route="/fib",status="200"} 1"#,
            r#"http_server_request_duration_seconds_count{method="DELETE",route="/fib",status="405"} 1"#,
            r#"http_server_request_duration_seconds_count{method="_OTHER",route="unmatched",status="404"} 1"#,
            r#"http_server_request_duration_seconds_bucket{method="GET",route="/fib",status="200",le="0.0005"}"#,
            "http_server_active_requests 0",
            r#"refserver_build_info{framework="axum",runtime="rust","#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(!text.contains(r#"route="/metrics""#));
    }
}
