//! The HTTP API that `wasmon run` serves when the configuration has an
//! `[api]` table: JSON status, passive results, rechecks,
//! acknowledgements, scheduled downtime, check modules and their reload,
//! and a stream of the engine's events, for operators and other programs.
//!
//! ```no_run
//! use std::sync::Arc;
//! use wasmon_runtime::{Monitor, api};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = wasmon_runtime::config::load("wasmon.toml".as_ref())?;
//! let settings = config.api.clone().expect("an [api] table");
//! let server = api::Server::bind(settings).await?;
//! println!("listening on {}", server.local_addr());
//! let monitor = Arc::new(Monitor::builder().config(config).start().await?);
//! server.serve(monitor.clone(), async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! monitor.stop().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every path is under `/api/v1` and described by the OpenAPI 3.1 document
//! [`OPENAPI`] (served at `GET /api/v1/openapi.json`); a test keeps the two
//! the same. Every request needs `Authorization: Bearer TOKEN` with a
//! token of `[[api.token]]`: GET requests (the event stream and the
//! description included) need its `read` scope, all others its `write`
//! scope. A missing or unknown token gets 401 with `WWW-Authenticate:
//! Bearer`, a token without the scope 403; an `[api]` without tokens
//! refuses every request. Errors are `{"error": "..."}` naming the bad
//! field, object or limit.
//!
//! The same listener serves the status page for people ([`crate::web`]),
//! outside `/api/v1`, with its own login and sessions.

pub(crate) mod actions;
pub(crate) mod auth;
mod error;
pub(crate) mod request;
mod serve;

pub use self::error::ApiError;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use self::auth::{Tokens, scope_of};
use self::request::JsonBody;
use crate::config::{ApiSettings, Scope};
use crate::engine::Event;
use crate::error::Error;
use crate::monitor::Monitor;
use crate::refusal::Refusal;

/// The OpenAPI 3.1 description of the API, as `GET /api/v1/openapi.json`
/// serves it.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    monitor: Arc<Monitor>,
    tokens: Arc<Tokens>,
    max_body: usize,
    /// Requests per second per token.
    rate: Arc<serve::RateLimits>,
    /// Turns true when the server shuts down: event streams end.
    stopping: watch::Receiver<bool>,
}

/// One route: its method, its path and what serves it.
type Route = (Method, &'static str, MethodRouter<AppState>);

fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    (method, path, axum::routing::on(filter, handler))
}

/// Every route the API serves: the router is built from this list alone,
/// and a test holds it to the OpenAPI description.
fn routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/api/v1/status", status),
        route(Method::GET, "/api/v1/hosts/{host}", host),
        route(Method::GET, "/api/v1/hosts/{host}/services/{service}", service),
        route(Method::POST, "/api/v1/results", results),
        route(Method::POST, "/api/v1/recheck", recheck),
        route(Method::POST, "/api/v1/acknowledgements", acknowledge),
        route(Method::DELETE, "/api/v1/acknowledgements", unacknowledge),
        route(Method::POST, "/api/v1/notifications", notify),
        route(Method::GET, "/api/v1/downtimes", downtimes),
        route(Method::POST, "/api/v1/downtimes", schedule_downtime),
        route(Method::DELETE, "/api/v1/downtimes/{id}", cancel_downtime),
        route(Method::GET, "/api/v1/modules", modules),
        route(Method::POST, "/api/v1/reload", reload),
        route(Method::GET, "/api/v1/events", events),
        route(Method::GET, "/api/v1/sinks", sinks),
        route(Method::GET, "/api/v1/cluster", cluster),
        route(Method::GET, "/api/v1/openapi.json", openapi),
    ]
}

fn app(state: AppState, web: Router) -> Router {
    let mut router = Router::new();
    for (_, path, method_router) in routes() {
        // Routes of one path merge.
        router = router.route(path, method_router);
    }
    router
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
        // The status page: its own routes, sessions and headers.
        .merge(web)
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The API bound to its address, not serving yet.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    settings: ApiSettings,
}

impl Server {
    /// Listens on `settings.listen` (port 0: a free port, see
    /// [`Server::local_addr`]).
    pub async fn bind(settings: ApiSettings) -> Result<Server, Error> {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| Error::Listen { address: settings.listen, source })?;
        if settings.tokens.is_empty() {
            tracing::warn!("[api] has no [[api.token]]: every request will be refused");
        }
        Ok(Server { listener, settings })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.settings.listen)
    }

    /// Serves requests about `monitor` until `shutdown` resolves; then
    /// accepts no more connections, ends the event streams and returns
    /// when the requests under way are answered.
    pub async fn serve<F>(self, monitor: Arc<Monitor>, shutdown: F) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopping) = watch::channel(false);
        let state = AppState {
            monitor,
            tokens: Arc::new(Tokens::new(&self.settings.tokens)),
            max_body: self.settings.max_body,
            rate: Arc::new(serve::RateLimits::new(self.settings.limits.requests_per_second)),
            stopping,
        };
        let web = crate::web::router(crate::web::Web::start(
            state.monitor.clone(),
            state.tokens.clone(),
            state.stopping.clone(),
        ));
        let address = self.local_addr();
        let shutdown = async move {
            shutdown.await;
            tracing::info!("API: shutting down");
            let _ = stop.send(true);
        };
        serve::serve(self.listener, app(state, web), &self.settings.limits, shutdown)
            .await
            .map_err(|source| Error::Serve { address, source })
    }
}

/// Binds `settings.listen` and serves until `shutdown` resolves (see
/// [`Server`]).
pub async fn serve<F>(monitor: Arc<Monitor>, settings: ApiSettings, shutdown: F) -> Result<(), Error>
where
    F: Future<Output = ()> + Send + 'static,
{
    Server::bind(settings).await?.serve(monitor, shutdown).await
}

async fn authorize(State(s): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let scope = scope_of(req.method());
    let caller = s.tokens.authorize(req.headers(), scope)?;
    if let Err(retry) = s.rate.take(&caller.0) {
        let message = format!("token '{}' is over its limit of requests per second; retry in {retry} s", caller.0);
        let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry));
        return Ok(response);
    }
    if scope == Scope::Write {
        tracing::info!(token = %caller.0, method = %req.method(), path = req.uri().path(), "API request");
    }
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

async fn no_route(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {} {} (see GET /api/v1/openapi.json)", req.method(), req.uri().path()),
    )
}

async fn method_not_allowed(req: Request) -> ApiError {
    let path = req.uri().path().to_string();
    let allowed: Vec<String> =
        routes().into_iter().filter(|(_, p, _)| matches_template(p, &path)).map(|(m, _, _)| m.to_string()).collect();
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {} is not allowed on {path} (allowed: {})", req.method(), allowed.join(", ")),
    )
}

/// Whether `path` is an instance of the route template `template`.
fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

fn path_params<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(p)| p).map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))
}

/// `GET /status`: every object, hosts first, in configuration order.
async fn status(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let objects = s.monitor.statuses().await?;
    Ok(Json(json!({ "objects": objects })))
}

/// `GET /hosts/{host}`: the host and its services (`host` is null for a
/// host without a check of its own).
async fn host(State(s): State<AppState>, path: Result<Path<String>, PathRejection>) -> Result<Json<Value>, ApiError> {
    let name = path_params(path)?;
    let all = s.monitor.statuses().await?;
    let (hosts, services): (Vec<_>, Vec<_>) =
        all.into_iter().filter(|o| o.host == name).partition(|o| o.service.is_none());
    if hosts.is_empty() && services.is_empty() {
        return Err(Refusal::NotFound { host: name, service: None }.into());
    }
    Ok(Json(json!({ "host": hosts.into_iter().next(), "services": services })))
}

/// `GET /hosts/{host}/services/{service}`.
async fn service(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<crate::engine::ObjectStatus>, ApiError> {
    let (host, service) = path_params(path)?;
    Ok(Json(s.monitor.status(&host, Some(&service)).await?))
}

/// `POST /results`: one passive result (answered with its result event)
/// or `{"results": [...]}` (answered item by item).
async fn results(State(s): State<AppState>, JsonBody(body): JsonBody) -> Result<Json<Value>, ApiError> {
    let (submissions, batch) = request::results(&body)?;
    if !batch {
        let submission = submissions.into_iter().next().expect("one result");
        return Ok(Json(serde_json::to_value(s.monitor.submit(submission).await?).unwrap_or_default()));
    }
    let mut items = Vec::with_capacity(submissions.len());
    let (mut accepted, mut rejected) = (0, 0);
    for outcome in s.monitor.submit_batch(submissions).await {
        match outcome {
            Ok(event) => {
                accepted += 1;
                items.push(json!({ "event": event }));
            }
            Err(Error::Stopped) => return Err(Error::Stopped.into()),
            Err(e) => {
                rejected += 1;
                let e = ApiError::from(e);
                items.push(json!({ "error": e.message, "status": e.status.as_u16() }));
            }
        }
    }
    Ok(Json(json!({ "accepted": accepted, "rejected": rejected, "results": items })))
}

/// `POST /recheck`: runs the object's check now and answers with its
/// result event.
async fn recheck(State(s): State<AppState>, JsonBody(body): JsonBody) -> Result<Json<Event>, ApiError> {
    Ok(Json(actions::recheck(&s.monitor, &body).await?))
}

/// `POST /acknowledgements`: acknowledges an object's problem; answers
/// with the object's status.
async fn acknowledge(
    State(s): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<crate::engine::ObjectStatus>, ApiError> {
    Ok(Json(actions::acknowledge(&s.monitor, &body).await?))
}

/// `DELETE /acknowledgements` (body: host, service): removes an object's
/// acknowledgement; answers with the object's status.
async fn unacknowledge(
    State(s): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<crate::engine::ObjectStatus>, ApiError> {
    Ok(Json(actions::unacknowledge(&s.monitor, &body).await?))
}

/// `POST /notifications`: sends a CUSTOM notification about an object;
/// answers with the events it made.
async fn notify(State(s): State<AppState>, JsonBody(body): JsonBody) -> Result<Json<Value>, ApiError> {
    let request = request::custom_notification(&body)?;
    Ok(Json(json!({ "events": s.monitor.custom_notification(request).await? })))
}

/// `GET /downtimes`: every downtime, pending and in effect, by id.
async fn downtimes(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "downtimes": s.monitor.downtimes().await? })))
}

/// `POST /downtimes`: schedules a downtime (`start` defaults to now);
/// answers 201 with it and its id.
async fn schedule_downtime(
    State(s): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<crate::Downtime>), ApiError> {
    Ok((StatusCode::CREATED, Json(actions::schedule_downtime(&s.monitor, &body).await?)))
}

/// `DELETE /downtimes/{id}`: cancels a downtime (one in effect ends now).
async fn cancel_downtime(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = path_params(path)?;
    actions::cancel_downtime(&s.monitor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /reload`: reads the configuration file again and lets it take
/// over (when the daemon was started with one), then looks at every
/// module file and hot-loads what changed; answers with what was loaded,
/// replaced, rejected and removed, and what the configuration added,
/// removed and changed. A configuration with problems is refused (422,
/// every problem listed) and the running one stays.
async fn reload(State(s): State<AppState>) -> Result<Json<crate::ReloadReport>, ApiError> {
    let config = if s.monitor.has_config_file() {
        match s.monitor.reload_config_file().await {
            Ok(change) => Some(change),
            Err(
                e @ (crate::Error::InvalidConfig(_)
                | crate::Error::Config(_)
                | crate::Error::HostPack { .. }
                | crate::Error::Macro(_)
                | crate::Error::InvalidModule { .. }),
            ) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("the configuration was not reloaded; the running one stays:\n{e}"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let mut report = s.monitor.reload().await?;
    report.config = config;
    Ok(Json(report))
}

/// `GET /modules`: every check module the monitor has, in load order
/// (configured ones first).
async fn modules(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "modules": s.monitor.modules().await? })))
}

/// `GET /sinks`: every metric sink's counters, in configuration order.
async fn sinks(State(s): State<AppState>) -> Json<Value> {
    Json(json!({ "sinks": s.monitor.sinks() }))
}

/// `GET /cluster`: the cluster's workers, zones and counters; 404 without
/// a `[cluster]`.
async fn cluster(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    match s.monitor.cluster().await {
        Some(status) => Ok(Json(json!(status))),
        None => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "this monitor has no [cluster]: every check runs in this process",
        )),
    }
}

/// `GET /openapi.json`.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /events`: every engine event as a server-sent event whose `event`
/// is the event's `kind` and whose data is its JSON; a subscriber that
/// falls behind gets a `lagged` event with how many it missed.
async fn events(State(s): State<AppState>) -> Sse<impl Stream<Item = Result<sse::Event, Infallible>>> {
    let events = s.monitor.subscribe();
    // The first message goes out at once: once a client has it, it is
    // subscribed.
    let hello = futures::stream::iter([Ok(sse::Event::default().comment("subscribed"))]);
    let stream = futures::stream::unfold((events, s.stopping), |(mut events, mut stopping)| async move {
        let next = tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => return None,
            next = events.recv() => next,
        };
        let message = match next {
            Ok(event) => sse_event(&event),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                sse::Event::default().event("lagged").data(json!({ "kind": "lagged", "missed": missed }).to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(message), (events, stopping)))
    });
    Sse::new(futures::StreamExt::chain(hello, stream)).keep_alive(KeepAlive::default())
}

fn sse_event(event: &Event) -> sse::Event {
    let value = serde_json::to_value(event).unwrap_or_default();
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("event").to_string();
    sse::Event::default().event(kind).data(value.to_string())
}

#[cfg(test)]
mod tests;
