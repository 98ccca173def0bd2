//! Bearer tokens: `Authorization: Bearer TOKEN`, compared in constant time,
//! with the scope a request needs decided by its method.

use axum::http::{HeaderMap, Method, StatusCode, header};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::config::{ApiToken, Scope};

/// The configured tokens, kept as digests.
#[derive(Clone, Debug)]
pub(crate) struct Tokens(Vec<Known>);

#[derive(Clone, Debug)]
struct Known {
    name: String,
    digest: [u8; 32],
    scopes: Vec<Scope>,
}

/// The token that authorised a request, in its extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Caller(pub String);

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// Whether two digests are equal, looking at every byte whatever the
/// first difference.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The scope a request needs: `read` for GET and HEAD (the status, the
/// event stream, the description), `write` for everything else.
pub(crate) fn scope_of(method: &Method) -> Scope {
    if method == Method::GET || method == Method::HEAD { Scope::Read } else { Scope::Write }
}

impl Tokens {
    pub(crate) fn new(tokens: &[ApiToken]) -> Tokens {
        Tokens(
            tokens
                .iter()
                .map(|t| Known {
                    name: t.name.clone(),
                    digest: digest(t.secret.expose().as_bytes()),
                    scopes: t.scopes.clone(),
                })
                .collect(),
        )
    }

    /// The configured token `presented` is, compared in constant time.
    fn known(&self, presented: &str) -> Option<&Known> {
        let presented = digest(presented.as_bytes());
        // Every token is compared: which one matched takes no less time.
        let mut found = None;
        for known in &self.0 {
            if same(&known.digest, &presented) && found.is_none() {
                found = Some(known);
            }
        }
        found
    }

    /// The name and scopes of the configured token `presented` (as the
    /// status page's login form sends it), if it is one.
    pub(crate) fn find(&self, presented: &str) -> Option<(String, Vec<Scope>)> {
        self.known(presented).map(|k| (k.name.clone(), k.scopes.clone()))
    }

    /// Who is calling, if the request's token grants `scope`: 401 (with
    /// `WWW-Authenticate: Bearer`) for a missing, malformed or unknown
    /// token, 403 for a token without the scope.
    pub(crate) fn authorize(&self, headers: &HeaderMap, scope: Scope) -> Result<Caller, ApiError> {
        let unauthorized = |message: &str, error: Option<&str>| {
            let challenge = match error {
                Some(e) => format!("Bearer realm=\"wasmon\", error=\"{e}\""),
                None => "Bearer realm=\"wasmon\"".to_string(),
            };
            ApiError::new(StatusCode::UNAUTHORIZED, message).with_authenticate(challenge)
        };
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized("missing bearer token: send 'Authorization: Bearer TOKEN'", None));
        };
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(kind, _)| kind.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty());
        let Some(presented) = presented else {
            return Err(unauthorized("header 'Authorization': expected 'Bearer TOKEN'", Some("invalid_request")));
        };
        let Some(known) = self.known(presented) else {
            return Err(unauthorized(
                "the bearer token is not one of the configured [[api.token]]s",
                Some("invalid_token"),
            ));
        };
        if !known.scopes.contains(&scope) {
            let message = format!(
                "token '{}' lacks the '{scope}' scope (GET requests and the event stream need 'read', everything else 'write')",
                known.name
            );
            return Err(ApiError::new(StatusCode::FORBIDDEN, message).with_authenticate(format!(
                "Bearer realm=\"wasmon\", error=\"insufficient_scope\", scope=\"{scope}\""
            )));
        }
        Ok(Caller(known.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::config::Secret;

    fn tokens() -> Tokens {
        Tokens::new(&[
            ApiToken { name: "ci".into(), secret: Secret::new("ci-secret"), scopes: vec![Scope::Read, Scope::Write] },
            ApiToken { name: "dash".into(), secret: Secret::new("dash-secret"), scopes: vec![Scope::Read] },
            ApiToken { name: "push".into(), secret: Secret::new("push-secret"), scopes: vec![Scope::Write] },
        ])
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn scopes_follow_the_method() {
        assert_eq!(scope_of(&Method::GET), Scope::Read);
        assert_eq!(scope_of(&Method::HEAD), Scope::Read);
        for m in [Method::POST, Method::DELETE, Method::PUT, Method::PATCH] {
            assert_eq!(scope_of(&m), Scope::Write, "{m}");
        }
    }

    #[test]
    fn tokens_and_scopes() {
        let t = tokens();
        assert_eq!(t.authorize(&with("Bearer ci-secret"), Scope::Write), Ok(Caller("ci".into())));
        assert_eq!(t.authorize(&with("bearer  dash-secret"), Scope::Read), Ok(Caller("dash".into())));
        assert_eq!(t.authorize(&with("Bearer push-secret"), Scope::Write), Ok(Caller("push".into())));

        let e = t.authorize(&HeaderMap::new(), Scope::Read).unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert_eq!(e.authenticate.as_deref(), Some("Bearer realm=\"wasmon\""));
        assert!(e.message.contains("missing bearer token"), "{}", e.message);

        for bad in ["Basic Y2k6Y2k=", "Bearer", "Bearer   ", "ci-secret"] {
            let e = t.authorize(&with(bad), Scope::Read).unwrap_err();
            assert_eq!(e.status, StatusCode::UNAUTHORIZED, "{bad}");
            assert_eq!(e.message, "header 'Authorization': expected 'Bearer TOKEN'", "{bad}");
        }
        // A prefix, a longer one, another case: all unknown.
        for bad in ["Bearer ci-secre", "Bearer ci-secret2", "Bearer CI-SECRET"] {
            let e = t.authorize(&with(bad), Scope::Read).unwrap_err();
            assert_eq!(e.status, StatusCode::UNAUTHORIZED, "{bad}");
            assert!(e.authenticate.as_deref().unwrap().contains("invalid_token"), "{bad}");
        }

        let e = t.authorize(&with("Bearer dash-secret"), Scope::Write).unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(e.message.starts_with("token 'dash' lacks the 'write' scope"), "{}", e.message);
        let e = t.authorize(&with("Bearer push-secret"), Scope::Read).unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(e.message.starts_with("token 'push' lacks the 'read' scope"), "{}", e.message);
    }

    #[test]
    fn no_tokens_refuse_everything() {
        let e = Tokens::new(&[]).authorize(&with("Bearer anything"), Scope::Read).unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
    }
}
