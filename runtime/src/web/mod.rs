//! The status page that `wasmon run` serves on the `[api]` listener, next
//! to the API: what an operator looks at all day.
//!
//! Pages are rendered on the server ([maud]) and work without
//! JavaScript for reading. A vendored [htmx](https://htmx.org) with its
//! SSE extension (in `assets/`, embedded in the binary, nothing loaded
//! from elsewhere) and one small script of our own add live updates:
//! `GET /web/events` streams the rows that changed, each swapped by its
//! stable id, so a selection of rows and the scroll position survive.
//!
//! Pages: `/` (problems: unhandled first), `/hosts`, `/services` (filters
//! and sorting by query string), `/overdue`, `/muted`, `/events`,
//! `/modules`, `/host/{host}` and `/host/{host}/service/{service}`.
//! Actions (`POST /action`): acknowledge, remove an acknowledgement,
//! schedule and cancel downtime, recheck, on the detail pages and on the
//! selected rows of a list; they go through the same code as the API's
//! endpoints ([`crate::api`]).
//!
//! Security: every page needs a session. `GET /` without one redirects to
//! `/login`, whose form posts a field `token`, one of `[[api.token]]` with
//! the `read` scope; the answer sets a session cookie (`HttpOnly`,
//! `SameSite=Strict`, expiring after [`SESSION_LIFETIME`]). Actions need
//! the token's `write` scope, and every form carries the session's CSRF
//! token. Every page has a `Content-Security-Policy` that allows no inline
//! script, and `X-Frame-Options: DENY`. Everything a check or a client
//! wrote is escaped.

mod action;
mod assets;
mod history;
mod live;
mod pages;
mod session;
mod view;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use tokio::sync::watch;

use crate::api::auth::Tokens;
use crate::monitor::Monitor;

pub use self::view::render_services;

/// How long a session lasts after the login.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// What every page handler shares.
#[derive(Clone)]
pub(crate) struct Web(Arc<Inner>);

pub(crate) struct Inner {
    monitor: Arc<Monitor>,
    tokens: Arc<Tokens>,
    sessions: session::Sessions,
    recent: live::Recent,
    stopping: watch::Receiver<bool>,
}

impl Web {
    /// The page's state, and the task that keeps its recent events (and,
    /// without a retention file, its metric history) from the monitor's
    /// event stream until `stopping` turns true.
    pub(crate) fn start(monitor: Arc<Monitor>, tokens: Arc<Tokens>, stopping: watch::Receiver<bool>) -> Web {
        let recent = live::Recent::default();
        live::keep_recent(&monitor, recent.clone(), stopping.clone());
        Web(Arc::new(Inner { monitor, tokens, sessions: session::Sessions::default(), recent, stopping }))
    }
}

/// The status page's routes, to merge into the API's router.
pub(crate) fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(pages::problems))
        .route("/hosts", get(pages::hosts))
        .route("/services", get(pages::services))
        .route("/overdue", get(pages::overdue))
        .route("/muted", get(pages::muted))
        .route("/events", get(pages::events))
        .route("/modules", get(pages::modules))
        .route("/host/{host}", get(pages::host))
        .route("/host/{host}/service/{service}", get(pages::service))
        .route("/action", post(action::action))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/web/events", get(live::events))
        .route("/web/assets/{name}", get(assets::asset))
        .route("/web/favicon/{name}", get(assets::favicon))
        .layer(axum::middleware::from_fn(headers))
        .with_state(web)
}

/// The policy of every page: scripts, styles, images and the event
/// stream from this server only, no inline script, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests;
