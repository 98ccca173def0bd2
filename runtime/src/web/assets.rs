//! The files the page loads, embedded in the binary: the vendored htmx
//! and its SSE extension (see `assets/README.md`), our script and style
//! sheet, and a favicon per worst state.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const HTMX: &[u8] = include_bytes!("assets/htmx.min.js");
const HTMX_SSE: &[u8] = include_bytes!("assets/htmx-ext-sse.min.js");
const SCRIPT: &[u8] = include_bytes!("assets/wasmon.js");
const STYLE: &[u8] = include_bytes!("assets/wasmon.css");

/// `GET /web/assets/{name}`.
pub(super) async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "htmx-ext-sse.min.js" => (HTMX_SSE, "text/javascript; charset=utf-8"),
        "wasmon.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "wasmon.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut r = ([(header::CONTENT_TYPE, kind)], body).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// The colour of a state's favicon and badge.
pub(super) fn colour(state: &str) -> &'static str {
    match state {
        "OK" | "UP" => "#2e9d4f",
        "WARNING" => "#e0a800",
        "CRITICAL" | "DOWN" => "#d43c3c",
        "UNKNOWN" | "UNREACHABLE" => "#8a5cc2",
        _ => "#888888",
    }
}

/// `GET /web/favicon/{state}.svg`: a disc in the state's colour.
pub(super) async fn favicon(Path(name): Path<String>) -> Response {
    let Some(state) = name.strip_suffix(".svg") else {
        return (StatusCode::NOT_FOUND, "no such icon").into_response();
    };
    let state = state.to_ascii_uppercase();
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"8\" cy=\"8\" r=\"7\" fill=\"{}\"/></svg>",
        colour(&state)
    );
    let mut r = ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}
