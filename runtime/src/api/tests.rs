//! The routes against the OpenAPI description, without a server.

use std::collections::BTreeSet;

use serde_json::json;

use super::*;

#[path = "../../tests/support/openapi.rs"]
mod checker;

fn doc() -> checker::Doc {
    checker::Doc::parse(OPENAPI)
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_served() {
    let served: BTreeSet<(String, String)> =
        routes().into_iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let documented = doc().operations();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in openapi.json: {undocumented:?}");
    assert!(unserved.is_empty(), "in openapi.json but not served: {unserved:?}");
}

#[test]
fn the_description_is_whole() {
    let d = doc();
    assert_eq!(d.0["openapi"], "3.1.0");
    assert_eq!(d.broken_refs(), Vec::<String>::new());
    let too_many = &d.0["components"]["responses"]["TooManyRequests"];
    assert_eq!(too_many["headers"]["Retry-After"]["schema"]["type"], "integer", "429 names Retry-After");
    for (method, path) in d.operations() {
        let op = &d.0["paths"][&path][method.to_lowercase()];
        assert!(op["summary"].is_string(), "{method} {path} has a summary");
        let responses = op["responses"].as_object().cloned().unwrap_or_default();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path} documents its success");
        // Every request needs a token, and every token has a rate.
        for status in ["401", "403", "429"] {
            assert!(op["responses"].get(status).is_some(), "{method} {path} documents {status}");
        }
        // Every request with a body may be malformed, too large or not JSON.
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(op["responses"].get(status).is_some(), "{method} {path} documents {status}");
            }
        }
        for param in path.split('/').filter(|p| p.starts_with('{')) {
            let name = param.trim_matches(|c| c == '{' || c == '}');
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            assert!(
                params.iter().any(|p| d.resolve(p).unwrap()["name"] == name),
                "{method} {path} documents its parameter {name}"
            );
        }
    }
}

#[test]
fn the_checker_finds_what_is_wrong() {
    let d = doc();
    let status = json!({
        "host": "web1", "service": null, "state": "UP", "state_type": "HARD", "attempt": 1, "max_attempts": 3,
        "output": "ok", "long_output": null, "perfdata": "", "last_check": 1.5, "last_state_change": null,
        "last_hard_state_change": null, "next_check": 2.0, "running": false, "dependency_failure": null, "stale": false, "flapping": false, "percent_state_change": 0.0, "in_downtime": false, "downtimes": [], "acknowledgement": null
    });
    d.check_response("GET", "/api/v1/hosts/web1", 200, &json!({"host": status, "services": []})).unwrap();
    d.check_response("GET", "/api/v1/status", 200, &json!({"objects": [status]})).unwrap();
    let mut missing = status.clone();
    missing.as_object_mut().unwrap().remove("state_type");
    let e = d.check_response("GET", "/api/v1/status", 200, &json!({"objects": [missing]})).unwrap_err();
    assert!(e.contains("$.objects[0]: the required property 'state_type' is missing"), "{e}");
    let mut wrong = status.clone();
    wrong["attempt"] = json!("1");
    let e = d.check_response("GET", "/api/v1/hosts/web1/services/HTTP", 200, &wrong).unwrap_err();
    assert!(e.contains("$.attempt: expected integer"), "{e}");
    let e = d.check_response("GET", "/api/v1/status", 500, &json!({"error": "x"})).unwrap_err();
    assert!(e.contains("status 500 is not documented"), "{e}");
    d.check_response("POST", "/api/v1/results", 400, &json!({"error": "field 'state': ..."})).unwrap();
    assert!(d.check_response("POST", "/api/v1/results", 400, &json!({"message": "x"})).is_err());
    assert!(d.check_response("DELETE", "/api/v1/status", 200, &json!({})).is_err());
}

#[test]
fn templates() {
    assert!(matches_template("/api/v1/hosts/{host}", "/api/v1/hosts/web1"));
    assert!(!matches_template("/api/v1/hosts/{host}", "/api/v1/hosts/"));
    assert!(!matches_template("/api/v1/hosts/{host}", "/api/v1/hosts/web1/services/x"));
    assert!(matches_template("/api/v1/status", "/api/v1/status"));
    assert_eq!(
        doc().template_for("/api/v1/hosts/web1/services/HTTP").as_deref(),
        Some("/api/v1/hosts/{host}/services/{service}")
    );
}

/// Every refusal has its status, and a malformed request names its field
/// (the API's answers keep their texts: `field 'end': must be after 'start'`).
#[test]
fn refusals_map_to_their_status_and_message() {
    use crate::Refusal;
    let who = || ("h".to_string(), Some("S".to_string()));
    let cases = [
        (Refusal::NotFound { host: who().0, service: who().1 }, 404, "no such object: host 'h', service 'S'"),
        (Refusal::NoSuchDowntime { id: 7 }, 404, "no downtime with id 7 (it may have ended or been cancelled)"),
        (Refusal::NotAcknowledged { host: who().0, service: None }, 404, "host 'h' has no acknowledgement"),
        (
            Refusal::NotAProblem { host: who().0, service: who().1, state: "OK".into() },
            409,
            "cannot acknowledge host 'h', service 'S': it is OK; only a problem (not OK/UP) can be acknowledged",
        ),
        (
            Refusal::PassiveDisabled { host: who().0, service: who().1 },
            409,
            "host 'h', service 'S': it does not accept passive results (passive_checks = false)",
        ),
        (
            Refusal::NoCheck { host: who().0, service: None },
            409,
            "host 'h': it has no check to run (a passive-only object)",
        ),
        (Refusal::EndNotAfterStart, 400, "field 'end': must be after 'start'"),
        (Refusal::EndInPast, 400, "field 'end': is in the past"),
        (Refusal::ZeroFlexible, 400, "field 'flexible': a flexible downtime needs a duration of more than zero"),
        (Refusal::WithServicesOnService, 400, "field 'with_services': applies to a host downtime only (no 'service')"),
        (Refusal::EmptyField { field: "comment", expected: None }, 400, "field 'comment': is an empty string"),
        (
            Refusal::EmptyField { field: "author", expected: Some("who acknowledges") },
            400,
            "field 'author': expected who acknowledges, found an empty string",
        ),
    ];
    for (refusal, status, message) in cases {
        let e = ApiError::from(crate::Error::from(refusal.clone()));
        assert_eq!((e.status.as_u16(), e.message.as_str()), (status, message), "{refusal:?}");
    }
    let e = crate::Error::from(Refusal::EndNotAfterStart);
    assert_eq!(e.to_string(), "invalid request: field 'end': must be after 'start'");
    assert_eq!(ApiError::from(crate::Error::Stopped).status.as_u16(), 503);
}
