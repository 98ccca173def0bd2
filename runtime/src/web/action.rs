//! The action form's handler: the status page's acknowledge, downtime and
//! recheck buttons, through the API's own code.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::Web;
use super::pages::{engine_error, problem_page};
use super::session::same_secret;
use super::view::object_id;
use crate::api::actions;
use crate::engine::ObjectStatus;

/// `POST /action`: acknowledge, unacknowledge, downtime, cancel_downtime
/// or recheck the objects named by `obj` (row ids), through the API's
/// own code; answers with a redirect to `back`.
pub(super) async fn action(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Some(s) = web.0.sessions.of(&headers) else {
        return problem_page(StatusCode::UNAUTHORIZED, "Log in first: actions need a session.");
    };
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    if !same_secret(&s.csrf, field("csrf")) {
        return problem_page(StatusCode::FORBIDDEN, "The form's CSRF token is missing or wrong: reload the page.");
    }
    if !s.write {
        return problem_page(
            StatusCode::FORBIDDEN,
            &format!("Token '{}' lacks the 'write' scope that actions need.", s.name),
        );
    }
    let ids: Vec<&str> = pairs.iter().filter(|(k, _)| k == "obj").map(|(_, v)| v.as_str()).collect();
    let objects = match web.0.monitor.statuses().await {
        Ok(o) => o,
        Err(e) => return engine_error(e),
    };
    let chosen: Vec<&ObjectStatus> =
        objects.iter().filter(|o| ids.contains(&object_id(&o.host, o.service.as_deref()).as_str())).collect();
    if chosen.is_empty() {
        return problem_page(StatusCode::BAD_REQUEST, "Select at least one host or service.");
    }
    let action = field("action");
    let comment = field("comment");
    let sticky = field("sticky") == "true";
    let now = web.0.monitor.now().as_secs_f64();
    let mut errors = Vec::new();
    for o in &chosen {
        let object = json!({ "host": o.host, "service": o.service });
        let done = match action {
            "acknowledge" => {
                let body = json!({ "host": o.host, "service": o.service, "author": s.name, "comment": comment, "sticky": sticky });
                actions::acknowledge(&web.0.monitor, &body).await.map(drop)
            }
            "unacknowledge" => actions::unacknowledge(&web.0.monitor, &object).await.map(drop),
            "recheck" => actions::recheck(&web.0.monitor, &object).await.map(drop),
            "downtime" => match humantime::parse_duration(field("duration").trim()) {
                Ok(d) if !d.is_zero() => {
                    let body = json!({
                        "host": o.host, "service": o.service, "end": now + d.as_secs_f64(),
                        "author": s.name, "comment": comment,
                    });
                    actions::schedule_downtime(&web.0.monitor, &body).await.map(drop)
                }
                _ => Err(crate::api::ApiError::field(
                    "duration",
                    format!("expected a duration such as \"30m\" or \"2h\", found \"{}\"", field("duration")),
                )),
            },
            "cancel_downtime" => actions::cancel_downtime(&web.0.monitor, field("downtime")).await,
            other => Err(crate::api::ApiError::field(
                "action",
                format!("expected acknowledge, unacknowledge, downtime, cancel_downtime or recheck, found \"{other}\""),
            )),
        };
        if let Err(e) = done {
            let name = match &o.service {
                Some(svc) => format!("{}/{svc}", o.host),
                None => o.host.clone(),
            };
            errors.push((e.status, format!("{name}: {}", e.message)));
        }
    }
    tracing::info!(token = %s.name, action, objects = chosen.len(), failed = errors.len(), "status page action");
    if let Some((status, _)) = errors.first() {
        let text: Vec<String> = errors.iter().map(|(_, m)| m.clone()).collect();
        return problem_page(*status, &text.join("; "));
    }
    let back = field("back");
    let back = if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') { back } else { "/" };
    Redirect::to(back).into_response()
}
