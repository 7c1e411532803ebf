//! Routes, JSON responses and the metrics middleware, the actix-web way.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, guard, web};
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

type State = web::Data<AppState>;

/// The application of one worker: every route answers GET and HEAD, other methods get the
/// JSON 405, unknown paths the JSON 404.
pub fn configure(state: Arc<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
        let resource =
            |path: &str| web::resource(path).default_service(web::to(method_not_allowed));
        cfg.app_data(web::Data::from(state))
            .service(resource("/health").route(get_or_head().to(health)))
            .service(resource("/compute").route(get_or_head().to(compute)))
            .service(resource("/payload").route(get_or_head().to(payload)))
            .service(resource("/fib").route(get_or_head().to(fib)))
            .service(resource("/hash").route(get_or_head().to(hash)))
            .service(resource("/id").route(get_or_head().to(id)))
            .service(resource("/metrics").route(get_or_head().to(metrics)))
            .default_service(web::to(not_found));
    }
}

/// Records duration and in-flight count of every request except `/metrics` (nothing with
/// `REQUEST_METRICS=off`); once shutdown has begun, every response says `Connection: close`,
/// so keep-alive clients reconnect (through the Service, to another pod) instead of reusing
/// this one.
pub async fn track<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let Some(state) = req.app_data::<State>().cloned() else {
        return next.call(req).await;
    };
    let recorded = if state.metrics.records_requests() {
        match req.match_pattern() {
            Some(route) if route == "/metrics" => None,
            route => Some((route, req.method().clone())),
        }
    } else {
        None
    };
    let mut response = match recorded {
        Some((route, method)) => {
            let _in_flight = state.metrics.in_flight();
            let start = Instant::now();
            let response = next.call(req).await?;
            state.metrics.observe(
                method.as_str(),
                route.as_deref().unwrap_or("unmatched"),
                response.status().as_u16(),
                start.elapsed().as_secs_f64(),
            );
            response
        }
        None => next.call(req).await?,
    };
    if state.stopping.load(Ordering::Relaxed) {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody { error: message })
}

async fn not_found() -> HttpResponse {
    error(StatusCode::NOT_FOUND, "not found")
}

async fn method_not_allowed() -> HttpResponse {
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// The query parameter `name`, or the 400 that says what was wrong with it.
fn param(req: &HttpRequest, name: &str, default: u64, cap: u64) -> Result<u64, HttpResponse> {
    work::int_param(req.query_string(), name, default, cap)
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
async fn health(state: State) -> HttpResponse {
    let (status, text) = if state.stopping.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping")
    } else {
        (StatusCode::OK, "ok")
    };
    HttpResponse::build(status).json(Health {
        status: text,
        runtime: "rust",
        framework: "actix-web",
    })
}

#[derive(Serialize)]
struct Primes {
    n: u64,
    primes: u64,
}

/// Adds `Server-Timing: compute;dur=<ms>`: the time of the prime loop alone.
async fn compute(req: HttpRequest) -> HttpResponse {
    let n = match param(&req, "n", 50_000, work::COMPUTE_CAP) {
        Ok(n) => n,
        Err(response) => return response,
    };
    let start = Instant::now();
    let primes = work::count_primes(n);
    let millis = start.elapsed().as_secs_f64() * 1e3;
    HttpResponse::Ok()
        .insert_header(("server-timing", format!("compute;dur={millis:.4}")))
        .json(Primes { n, primes })
}

async fn payload(req: HttpRequest) -> HttpResponse {
    match param(&req, "size", 1000, work::PAYLOAD_CAP) {
        Ok(size) => HttpResponse::Ok().json(work::payload(size)),
        Err(response) => response,
    }
}

#[derive(Serialize)]
struct Fib {
    n: u64,
    result: u64,
}

async fn fib(req: HttpRequest) -> HttpResponse {
    match param(&req, "n", 30, work::FIB_CAP) {
        Ok(n) => HttpResponse::Ok().json(Fib {
            n,
            result: work::fib(n),
        }),
        Err(response) => response,
    }
}

#[derive(Serialize)]
struct Hash {
    rounds: u64,
    hash: String,
}

async fn hash(req: HttpRequest) -> HttpResponse {
    match param(&req, "rounds", 100, work::HASH_CAP) {
        Ok(rounds) => HttpResponse::Ok().json(Hash {
            rounds,
            hash: work::hash_rounds(rounds),
        }),
        Err(response) => response,
    }
}

#[derive(Serialize)]
struct Id {
    id: u64,
}

async fn id(state: State) -> HttpResponse {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    HttpResponse::Ok().json(Id {
        id: state.ids.next(now_ms),
    })
}

async fn metrics(state: State) -> HttpResponse {
    match state.metrics.exposition() {
        Ok((body, content_type)) => HttpResponse::Ok().content_type(content_type).body(body),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{App, test};

    fn state() -> Arc<AppState> {
        Arc::new(AppState {
            metrics: Metrics::new("actix-web", true).expect("metrics"),
            ids: Snowflake::new(0),
            stopping: AtomicBool::new(false),
        })
    }

    #[actix_web::test]
    async fn endpoints_answer_json_and_are_counted() {
        let state = state();
        let app = test::init_service(
            App::new()
                .wrap(from_fn(track))
                .configure(configure(state.clone())),
        )
        .await;
        let cases = [
            (
                "GET",
                "/health",
                200,
                r#"{"status":"ok","runtime":"rust","framework":"actix-web"}"#,
            ),
            ("GET", "/compute?n=10", 200, r#"{"n":10,"primes":4}"#),
            (
                "GET",
                "/fib?n=41",
                400,
                r#"{"error":"n must be at most 40"}"#,
            ),
            ("GET", "/nope", 404, r#"{"error":"not found"}"#),
            ("POST", "/fib", 405, r#"{"error":"method not allowed"}"#),
        ];
        for (method, uri, status, body) in cases {
            let req = test::TestRequest::default()
                .method(method.parse().expect("method"))
                .uri(uri)
                .to_request();
            let response = test::call_service(&app, req).await;
            assert_eq!(response.status().as_u16(), status, "{method} {uri}");
            assert_eq!(
                test::read_body(response).await,
                body.as_bytes(),
                "{method} {uri}"
            );
        }
        let text = String::from_utf8(state.metrics.exposition().expect("text").0).expect("utf8");
        for line in [
            r#"http_server_request_duration_seconds_count{method="POST",route="/fib",status="405"} 1"#,
            r#"http_server_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1"#,
            "http_server_active_requests 0",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        state.stopping.store(true, Ordering::Relaxed);
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
