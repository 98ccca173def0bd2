//! Request bodies: read within the size limit, checked to be JSON, and
//! taken apart field by field so that every problem names its field.
//! axum's own `Json` rejections say what serde says; these say what the
//! API expects.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use std::time::Duration;

use super::AppState;
use super::error::ApiError;
use crate::monitor::Submission;
use crate::outcome::State;
use crate::state::{Acknowledgement, DowntimeRequest, Time};

/// A request body that is one JSON value, at most `[api] max_body` long,
/// sent as `application/json`.
pub(crate) struct JsonBody(pub Value);

/// "1 MiB (1048576 bytes)", for messages about the limit.
pub(crate) fn size_text(bytes: usize) -> String {
    let unit = |n: usize, u: &str| format!("{n} {u} ({bytes} bytes)");
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => unit(b >> 30, "GiB"),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => unit(b >> 20, "MiB"),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => unit(b >> 10, "KiB"),
        b => format!("{b} bytes"),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body too large: the limit is {} ([api] max_body)", size_text(limit)),
    )
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<JsonBody, ApiError> {
        let limit = state.max_body;
        let content_type =
            req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("(not text)").to_string());
        match content_type {
            Some(ct) if is_json(&ct) => {}
            Some(ct) => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("header 'Content-Type': expected application/json, found '{ct}'"),
                ));
            }
            None => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "header 'Content-Type': missing (expected application/json)",
                ));
            }
        }
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(limit));
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return too_large(limit);
                }
                source = s.source();
            }
            ApiError::bad_request(format!("cannot read the request body: {e}"))
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// `application/json`, with parameters (`; charset=utf-8`) or as a
/// `+json` suffix type.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body as JSON, or a 400 that says where it stops being JSON.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty (expected a JSON object)"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

/// A JSON value as messages show it: the value for a scalar, the type
/// otherwise.
pub(crate) fn found(v: &Value) -> String {
    match v {
        Value::Object(_) => "an object".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::String(s) if s.chars().count() > 60 => format!("\"{}...\"", s.chars().take(60).collect::<String>()),
        other => other.to_string(),
    }
}

/// The fields of one JSON object, named in messages with a prefix such
/// as `results[2].`.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    /// `value` as an object whose fields are `allowed`; `what` names it
    /// for a value that is no object (e.g. "the request body").
    pub(crate) fn new(value: &'a Value, prefix: &str, what: &str, allowed: &[&str]) -> Result<Fields<'a>, ApiError> {
        let Value::Object(map) = value else {
            return Err(ApiError::bad_request(format!("{what}: expected a JSON object, found {}", found(value))));
        };
        let fields = Fields { map, prefix: prefix.to_string() };
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(ApiError::field(
                    &fields.name(key),
                    format!("unknown field (expected one of: {})", allowed.join(", ")),
                ));
            }
        }
        Ok(fields)
    }

    /// The field's name as messages give it.
    pub(crate) fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The value, if present and not null.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A 400 about field `key`.
    pub(crate) fn bad(&self, key: &str, message: impl AsRef<str>) -> ApiError {
        ApiError::field(&self.name(key), message)
    }

    /// A string that may be absent or null.
    pub(crate) fn opt_string(&self, key: &str, what: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.bad(key, format!("expected {what} (a string), found {}", found(v)))),
        }
    }

    /// A string that is present and not blank.
    pub(crate) fn required(&self, key: &str, what: &str) -> Result<String, ApiError> {
        match self.opt_string(key, what)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(self.bad(key, format!("expected {what}, found an empty string"))),
            None => Err(self.bad(key, format!("missing (expected {what})"))),
        }
    }

    /// `true` or `false`, `default` when absent or null.
    pub(crate) fn flag(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.bad(key, format!("expected true or false, found {}", found(v)))),
        }
    }

    /// A point in time: seconds since the UNIX epoch (a number) or an RFC
    /// 3339 date and time ("2026-12-01T22:00:00Z"); absent or null: `None`.
    pub(crate) fn time(&self, key: &str) -> Result<Option<Time>, ApiError> {
        let expected = "seconds since the UNIX epoch or an RFC 3339 time such as \"2026-12-01T22:00:00Z\"";
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n
                .as_f64()
                .and_then(|s| crate::sanitize::seconds(s, Duration::from_secs_f64(crate::sanitize::MAX_TIME_SECS)))
            {
                Some(t) => Ok(Some(t)),
                None => Err(self.bad(key, format!("expected {expected}, found {n}"))),
            },
            Some(Value::String(s)) => humantime::parse_rfc3339_weak(s.trim())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(Some)
                .ok_or_else(|| self.bad(key, format!("expected {expected}, found \"{s}\""))),
            Some(v) => Err(self.bad(key, format!("expected {expected}, found {}", found(v)))),
        }
    }

    /// A duration of more than zero: seconds (a number) or a text such as
    /// "30m" or "1h 30m"; absent or null: `None`.
    pub(crate) fn duration(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let expected = "a duration of more than zero: seconds or a text such as \"30m\"";
        let d = match self.get(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .and_then(|s| crate::sanitize::seconds(s, crate::sanitize::MAX_DURATION))
                .filter(|d| !d.is_zero()),
            Some(Value::String(s)) => {
                humantime::parse_duration(s.trim()).ok().filter(|d| !d.is_zero() && *d <= crate::sanitize::MAX_DURATION)
            }
            Some(_) => None,
        };
        match d {
            Some(d) => Ok(Some(d)),
            None => {
                Err(self
                    .bad(key, format!("expected {expected}, found {}", self.get(key).map(found).unwrap_or_default())))
            }
        }
    }

    /// A non-blank string that may be absent or null.
    pub(crate) fn opt_nonempty(&self, key: &str, what: &str) -> Result<Option<String>, ApiError> {
        match self.opt_string(key, what)? {
            Some(s) if s.trim().is_empty() => Err(self.bad(key, format!("expected {what}, found an empty string"))),
            other => Ok(other),
        }
    }
}

/// The fields of a passive result.
const RESULT_FIELDS: &[&str] = &["host", "service", "state", "output"];

/// The body of `POST /results`: one result, or `{"results": [...]}`.
/// Each result names its host, its service (absent or null for the host
/// itself), its state and its output; the output is plugin output (first
/// line `summary | perfdata`, long output after) and is parsed as the
/// output of a command plugin is, so perfdata become metrics.
pub(crate) fn results(body: &Value) -> Result<(Vec<Submission>, bool), ApiError> {
    if let Value::Object(map) = body
        && map.contains_key("results")
    {
        let f = Fields::new(body, "", "the request body", &["results"])?;
        let Some(Value::Array(items)) = f.get("results") else {
            let v = map.get("results").unwrap_or(&Value::Null);
            return Err(f.bad("results", format!("expected an array of results, found {}", found(v))));
        };
        if items.is_empty() {
            return Err(f.bad("results", "expected at least one result, found an empty array"));
        }
        let parsed = items.iter().enumerate().map(|(i, v)| result(v, &format!("results[{i}].")));
        return Ok((parsed.collect::<Result<_, _>>()?, true));
    }
    Ok((vec![result(body, "")?], false))
}

/// One passive result; `prefix` names where it is in the body.
pub(crate) fn result(value: &Value, prefix: &str) -> Result<Submission, ApiError> {
    let what =
        if prefix.is_empty() { "the request body".to_string() } else { format!("'{}'", prefix.trim_end_matches('.')) };
    let f = Fields::new(value, prefix, &what, RESULT_FIELDS)?;
    let host = f.required("host", "a host name")?;
    let service = f.opt_nonempty("service", "a service name, or null for the host")?;
    let state = match f.get("state") {
        None => Err(f.bad("state", format!("missing (expected {})", states(service.is_none())))),
        Some(v) => state(v, service.is_none()).map_err(|m| f.bad("state", m)),
    }?;
    let output = f.opt_string("output", "plugin output")?.unwrap_or_default();
    let parsed = crate::plugin::parse_output(&output);
    Ok(Submission {
        host,
        service,
        state,
        output: parsed.summary.clone(),
        long_output: parsed.long_output.clone(),
        perfdata_errors: parsed.perfdata_errors(),
        metrics: parsed.metrics,
    })
}

fn states(host: bool) -> &'static str {
    if host { "one of UP, DOWN (or 0-3)" } else { "one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3)" }
}

/// A state as a name (`OK`... for a service, `UP`/`DOWN` for a host,
/// any case) or a plugin exit code 0-3, as a number or a string. A host's
/// 0 and 1 are UP, 2 and 3 DOWN, as for a host check.
pub(crate) fn state(v: &Value, host: bool) -> Result<State, String> {
    let expected = || format!("expected {}, found {}", states(host), found(v));
    let code = match v {
        Value::Number(n) => n.as_u64().ok_or_else(expected)?,
        Value::String(s) => match s.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                let name = s.trim().to_ascii_uppercase();
                let named = match (host, name.as_str()) {
                    (true, "UP") => Some(State::Ok),
                    (true, "DOWN") => Some(State::Critical),
                    (false, "OK") => Some(State::Ok),
                    (false, "WARNING") => Some(State::Warning),
                    (false, "CRITICAL") => Some(State::Critical),
                    (false, "UNKNOWN") => Some(State::Unknown),
                    _ => None,
                };
                return named.ok_or_else(expected);
            }
        },
        _ => return Err(expected()),
    };
    crate::plugin::state_from_exit_code(i32::try_from(code).unwrap_or(-1)).ok_or_else(expected)
}

/// The object a request is about: `host` and `service` (absent or null
/// for the host itself).
pub(crate) fn object(body: &Value, allowed: &[&str]) -> Result<(String, Option<String>), ApiError> {
    let f = Fields::new(body, "", "the request body", allowed)?;
    Ok((f.required("host", "a host name")?, f.opt_nonempty("service", "a service name, or null for the host")?))
}

/// The body of `POST /acknowledgements`.
pub(crate) fn acknowledgement(body: &Value) -> Result<Acknowledgement, ApiError> {
    let f = Fields::new(body, "", "the request body", &["host", "service", "author", "comment", "sticky"])?;
    Ok(Acknowledgement {
        host: f.required("host", "a host name")?,
        service: f.opt_nonempty("service", "a service name, or null for the host")?,
        author: f.required("author", "who acknowledges")?,
        comment: f.opt_string("comment", "a comment")?.unwrap_or_default(),
        sticky: f.flag("sticky", false)?,
    })
}

/// The body of `POST /notifications`.
pub(crate) fn custom_notification(body: &Value) -> Result<crate::engine::CustomNotification, ApiError> {
    let f = Fields::new(body, "", "the request body", &["host", "service", "author", "comment"])?;
    Ok(crate::engine::CustomNotification {
        host: f.required("host", "a host name")?,
        service: f.opt_nonempty("service", "a service name, or null for the host")?,
        author: f.required("author", "who sends it")?,
        comment: f.required("comment", "what it says")?,
    })
}

/// The body of `POST /downtimes`; `start` defaults to `now`.
pub(crate) fn downtime(body: &Value, now: Time) -> Result<DowntimeRequest, ApiError> {
    let fields = ["host", "service", "with_services", "start", "end", "flexible", "author", "comment"];
    let f = Fields::new(body, "", "the request body", &fields)?;
    let host = f.required("host", "a host name")?;
    let service = f.opt_nonempty("service", "a service name, or null for the host")?;
    // The engine checks the rest (end after start, with_services only for
    // a host) and names the field the same way.
    let with_services = f.flag("with_services", false)?;
    let start = f.time("start")?.unwrap_or(now);
    let Some(end) = f.time("end")? else {
        return Err(f.bad("end", "missing (expected seconds since the UNIX epoch or an RFC 3339 time)"));
    };
    Ok(DowntimeRequest {
        host,
        service,
        with_services,
        start,
        end,
        flexible: f.duration("flexible")?,
        author: f.required("author", "who schedules it")?,
        comment: f.opt_string("comment", "a comment")?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(r: Result<impl std::fmt::Debug, ApiError>) -> String {
        let e = r.expect_err("a rejection");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        e.message
    }

    #[test]
    fn a_result_with_perfdata_and_long_output() {
        let (s, batch) = results(&json!({
            "host": "web1", "service": "HTTP", "state": "WARNING",
            "output": "HTTP slow | time=2.5s;1;2;0 size=10KB\nsecond line\nthird line"
        }))
        .unwrap();
        assert!(!batch);
        let s = &s[0];
        assert_eq!((s.host.as_str(), s.service.as_deref(), s.state), ("web1", Some("HTTP"), State::Warning));
        assert_eq!(s.output, "HTTP slow");
        assert_eq!(s.long_output.as_deref(), Some("second line\nthird line"));
        assert_eq!(s.metrics.len(), 2);
        assert_eq!((s.metrics[0].label.as_str(), s.metrics[0].value), ("time", 2.5));

        let s = result(&json!({"host": "web1", "service": null, "state": 2}), "").unwrap();
        assert_eq!((s.service, s.state, s.output.as_str()), (None, State::Critical, ""));
        let s = result(&json!({"host": "web1", "state": "up", "output": "PING OK"}), "").unwrap();
        assert_eq!(s.state, State::Ok);
        let s = result(&json!({"host": "web1", "state": "DOWN"}), "").unwrap();
        assert_eq!(s.state, State::Critical);
        let s = result(&json!({"host": "web1", "service": "x", "state": "3"}), "").unwrap();
        assert_eq!(s.state, State::Unknown);
        let s =
            result(&json!({"host": "web1", "service": "x", "state": "Critical", "output": "bad | x=1 =broken"}), "")
                .unwrap();
        assert_eq!(s.metrics.len(), 1);
        assert_eq!(s.long_output, None, "the long output is the client's own text");
        assert!(s.perfdata_errors[0].contains("Ignored bad performance data"), "a bad entry is named, not fatal");
    }

    #[test]
    fn a_batch() {
        let (s, batch) = results(&json!({"results": [
            {"host": "web1", "state": "UP"},
            {"host": "web1", "service": "HTTP", "state": "OK", "output": "fine"}
        ]}))
        .unwrap();
        assert!(batch);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].output, "fine");
    }

    #[test]
    fn every_problem_names_its_field() {
        let cases = [
            (
                json!({"host": "web1", "service": "x", "state": "BAD"}),
                r#"field 'state': expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3), found "BAD""#,
            ),
            (json!({"host": "web1", "state": "OK"}), r#"field 'state': expected one of UP, DOWN (or 0-3), found "OK""#),
            (
                json!({"host": "web1", "service": "x", "state": 4}),
                "field 'state': expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3), found 4",
            ),
            (
                json!({"host": "web1", "service": "x", "state": -1}),
                "field 'state': expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3), found -1",
            ),
            (
                json!({"host": "web1", "service": "x", "state": 1.5}),
                "field 'state': expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3), found 1.5",
            ),
            (
                json!({"host": "web1", "service": "x"}),
                "field 'state': missing (expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3))",
            ),
            (json!({"service": "x", "state": "OK"}), "field 'host': missing (expected a host name)"),
            (json!({"host": " ", "state": "UP"}), "field 'host': expected a host name, found an empty string"),
            (json!({"host": 7, "state": "UP"}), "field 'host': expected a host name (a string), found 7"),
            (
                json!({"host": "web1", "service": "", "state": "OK"}),
                "field 'service': expected a service name, or null for the host, found an empty string",
            ),
            (
                json!({"host": "web1", "service": "x", "state": "OK", "output": ["a"]}),
                "field 'output': expected plugin output (a string), found an array",
            ),
            (
                json!({"host": "web1", "service": "x", "state": "OK", "perfdata": "a=1"}),
                "field 'perfdata': unknown field (expected one of: host, service, state, output)",
            ),
            (json!(["web1"]), "the request body: expected a JSON object, found an array"),
            (json!({"results": {}}), "field 'results': expected an array of results, found an object"),
            (json!({"results": []}), "field 'results': expected at least one result, found an empty array"),
            (
                json!({"results": [{"host": "web1", "state": "UP"}], "host": "web1"}),
                "field 'host': unknown field (expected one of: results)",
            ),
            (
                json!({"results": [{"host": "web1", "state": "UP"}, {"host": "web1", "service": "x", "state": "WARN1"}]}),
                r#"field 'results[1].state': expected one of OK, WARNING, CRITICAL, UNKNOWN (or 0-3), found "WARN1""#,
            ),
            (json!({"results": [{"host": "web1", "state": "UP"}, 3]}), "'results[1]': expected a JSON object, found 3"),
        ];
        for (body, expected) in cases {
            assert_eq!(message(results(&body)), expected, "{body}");
        }
    }

    #[test]
    fn bodies_that_are_not_json() {
        assert_eq!(message(parse_json(b"  ")), "the request body is empty (expected a JSON object)");
        assert!(
            message(parse_json(b"{\"host\": ")).starts_with("the request body is not valid JSON: EOF while parsing")
        );
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert_eq!(size_text(1 << 20), "1 MiB (1048576 bytes)");
        assert_eq!(size_text(1000), "1000 bytes");
    }

    #[test]
    fn objects() {
        assert_eq!(object(&json!({"host": "web1"}), &["host", "service"]).unwrap(), ("web1".into(), None));
        assert_eq!(
            object(&json!({"host": "web1", "service": "HTTP"}), &["host", "service"]).unwrap(),
            ("web1".into(), Some("HTTP".into()))
        );
        assert_eq!(
            message(object(&json!({"host": "web1", "svc": "HTTP"}), &["host", "service"])),
            "field 'svc': unknown field (expected one of: host, service)"
        );
    }

    #[test]
    fn acknowledgements_and_downtimes() {
        let a = acknowledgement(
            &json!({"host": "web1", "service": "HTTP", "author": "alice", "comment": "on it", "sticky": true}),
        )
        .unwrap();
        assert_eq!(
            a,
            Acknowledgement {
                host: "web1".into(),
                service: Some("HTTP".into()),
                author: "alice".into(),
                comment: "on it".into(),
                sticky: true
            }
        );
        let a = acknowledgement(&json!({"host": "web1", "author": "bob"})).unwrap();
        assert_eq!((a.service, a.comment.as_str(), a.sticky), (None, "", false));

        let now = Duration::from_secs(1_000);
        let d = downtime(&json!({"host": "web1", "end": 4600, "author": "alice", "comment": "patch"}), now).unwrap();
        assert_eq!((d.start, d.end, d.flexible, d.with_services), (now, Duration::from_secs(4600), None, false));
        let d = downtime(
            &json!({"host": "web1", "with_services": true, "start": "2026-12-01T22:00:00Z", "end": 1796170000.5, "flexible": "30m", "author": "a"}),
            now,
        )
        .unwrap();
        assert_eq!(d.start, Duration::from_secs(1_796_162_400));
        assert_eq!(d.end, Duration::from_secs_f64(1_796_170_000.5));
        assert_eq!(d.flexible, Some(Duration::from_secs(1800)));
        let d = downtime(&json!({"host": "web1", "end": 2000, "flexible": 90, "author": "a"}), now).unwrap();
        assert_eq!(d.flexible, Some(Duration::from_secs(90)));
    }

    #[test]
    fn acknowledgement_and_downtime_problems_name_their_field() {
        let now = Duration::from_secs(1_000);
        let cases = [
            (
                acknowledgement(&json!({"host": "web1"})).map(|_| ()),
                "field 'author': missing (expected who acknowledges)",
            ),
            (
                acknowledgement(&json!({"host": "web1", "author": "a", "sticky": "yes"})).map(|_| ()),
                r#"field 'sticky': expected true or false, found "yes""#,
            ),
            (
                acknowledgement(&json!({"host": "web1", "author": "a", "until": 5})).map(|_| ()),
                "field 'until': unknown field (expected one of: host, service, author, comment, sticky)",
            ),
            (
                downtime(&json!({"host": "web1", "author": "a"}), now).map(|_| ()),
                "field 'end': missing (expected seconds since the UNIX epoch or an RFC 3339 time)",
            ),
            (
                downtime(&json!({"host": "web1", "end": "tomorrow", "author": "a"}), now).map(|_| ()),
                r#"field 'end': expected seconds since the UNIX epoch or an RFC 3339 time such as "2026-12-01T22:00:00Z", found "tomorrow""#,
            ),
            (
                downtime(&json!({"host": "web1", "start": -5, "end": 9, "author": "a"}), now).map(|_| ()),
                r#"field 'start': expected seconds since the UNIX epoch or an RFC 3339 time such as "2026-12-01T22:00:00Z", found -5"#,
            ),
            // Once a panic converting the seconds (issue 16).
            (
                downtime(&json!({"host": "web1", "end": 1e20, "author": "a"}), now).map(|_| ()),
                r#"field 'end': expected seconds since the UNIX epoch or an RFC 3339 time such as "2026-12-01T22:00:00Z", found 1e+20"#,
            ),
            (
                downtime(&json!({"host": "web1", "end": 2000, "flexible": 1e300, "author": "a"}), now).map(|_| ()),
                r#"field 'flexible': expected a duration of more than zero: seconds or a text such as "30m", found 1e+300"#,
            ),
            (
                downtime(&json!({"host": "web1", "end": 2000, "flexible": 0, "author": "a"}), now).map(|_| ()),
                r#"field 'flexible': expected a duration of more than zero: seconds or a text such as "30m", found 0"#,
            ),
            (
                downtime(&json!({"host": "web1", "end": 2000, "flexible": "soon", "author": "a"}), now).map(|_| ()),
                r#"field 'flexible': expected a duration of more than zero: seconds or a text such as "30m", found "soon""#,
            ),
        ];
        for (r, expected) in cases {
            assert_eq!(message(r), expected);
        }
    }
}
