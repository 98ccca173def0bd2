//! Logging in with a token of `[[api.token]]`, the session cookie, and
//! the CSRF token of every form.
//!
//! Sessions live in memory (a restart logs everyone out). The cookie holds
//! a random id only; the token never leaves the login request.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Instant;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use sha2::{Digest, Sha256};

use super::{SESSION_LIFETIME, Web};
use crate::config::Scope;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "wasmon_session";
/// The cookie that carries the login form's CSRF token.
const LOGIN_COOKIE: &str = "wasmon_login";

/// A logged-in browser.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The name of the token it logged in with: the author of its actions.
    pub(crate) name: String,
    /// Whether the token has the `write` scope.
    pub(crate) write: bool,
    /// The token every form of the session carries.
    pub(crate) csrf: String,
    expires: Instant,
}

/// Every session, by id.
#[derive(Default)]
pub(crate) struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    fn create(&self, name: String, write: bool) -> String {
        let id = random_token();
        let session = Session { name, write, csrf: random_token(), expires: Instant::now() + SESSION_LIFETIME };
        let mut all = self.0.lock().expect("sessions lock");
        let now = Instant::now();
        all.retain(|_, s| s.expires > now);
        all.insert(id.clone(), session);
        id
    }

    fn remove(&self, id: &str) {
        self.0.lock().expect("sessions lock").remove(id);
    }

    /// The session whose id the request's cookie holds, if it has not
    /// expired.
    pub(crate) fn of(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, COOKIE)?;
        let all = self.0.lock().expect("sessions lock");
        all.get(&id).filter(|s| s.expires > Instant::now()).cloned()
    }
}

/// 32 random bytes from the kernel, in hex.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("the kernel's random numbers (/dev/urandom)");
    hex::encode(bytes)
}

/// Whether two secrets are equal, taking as long whatever the first
/// difference.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b): ([u8; 32], [u8; 32]) = (Sha256::digest(a).into(), Sha256::digest(b).into());
    let diff = a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The value of cookie `name`, if the request sent it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(name: &str, value: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"))
        .expect("a cookie of hex digits")
}

fn login_page(csrf: &str, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "wasmon: log in" }
                link rel="icon" href="/web/favicon/none.svg";
                link rel="stylesheet" href="/web/assets/wasmon.css";
            }
            body {
                form.login method="post" action="/login" {
                    h1 { "wasmon" }
                    @if let Some(e) = error { p.error { (e) } }
                    label for="token" { "API token (one of [[api.token]])" }
                    input #token type="password" name="token" autocomplete="current-password" required autofocus;
                    input type="hidden" name="csrf" value=(csrf);
                    p { button type="submit" { "Log in" } }
                }
            }
        }
    }
}

/// `GET /login`: the form, with a fresh CSRF token in a cookie and in the
/// form.
pub(super) async fn login_form() -> Response {
    let csrf = random_token();
    let mut r = login_page(&csrf, None).into_response();
    r.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &csrf, 3600));
    r
}

/// The login form's fields.
#[derive(serde::Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`: a session for a token with the `read` scope.
pub(super) async fn login(State(web): State<Web>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let refuse = |status: StatusCode, message: &str| {
        let csrf = random_token();
        let mut r = (status, login_page(&csrf, Some(message))).into_response();
        r.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &csrf, 3600));
        r
    };
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        return refuse(StatusCode::FORBIDDEN, "The form expired (CSRF token missing or wrong): try again.");
    }
    let Some((name, scopes)) = web.0.tokens.find(form.token.trim()) else {
        return refuse(StatusCode::UNAUTHORIZED, "That token is not one of the configured [[api.token]]s.");
    };
    if !scopes.contains(&Scope::Read) {
        return refuse(StatusCode::FORBIDDEN, &format!("Token '{name}' lacks the 'read' scope the page needs."));
    }
    tracing::info!(token = %name, "status page login");
    let id = web.0.sessions.create(name, scopes.contains(&Scope::Write));
    let mut r = Redirect::to("/").into_response();
    r.headers_mut().append(header::SET_COOKIE, set_cookie(COOKIE, &id, SESSION_LIFETIME.as_secs()));
    r.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0));
    r
}

/// The logout form's fields.
#[derive(serde::Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session.
pub(super) async fn logout(State(web): State<Web>, headers: HeaderMap, Form(form): Form<LogoutForm>) -> Response {
    if let (Some(s), Some(id)) = (web.0.sessions.of(&headers), cookie(&headers, COOKIE))
        && same_secret(&s.csrf, &form.csrf)
    {
        web.0.sessions.remove(&id);
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(header::SET_COOKIE, set_cookie(COOKIE, "", 0));
    r
}
