//! What the API answers when it cannot do what was asked: a status and
//! `{"error": "..."}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::Error;
use crate::refusal::Refusal;

/// A refused or failed request: the status and a message that names the
/// bad field, object or limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message of the `error` property.
    pub message: String,
    /// The `WWW-Authenticate` header of a 401 or 403.
    pub(crate) authenticate: Option<String>,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), authenticate: None }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 about one field: `field 'NAME': MESSAGE`.
    pub fn field(name: &str, message: impl AsRef<str>) -> ApiError {
        ApiError::bad_request(format!("field '{name}': {}", message.as_ref()))
    }

    pub(crate) fn with_authenticate(mut self, value: impl Into<String>) -> ApiError {
        self.authenticate = Some(value.into());
        self
    }
}

/// The status of each refusal: 400 for a malformed request (its message
/// names the field), 404 for what does not exist, 409 for what the object
/// does not take.
impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        let status = match &r {
            Refusal::NotFound { .. } | Refusal::NoSuchDowntime { .. } | Refusal::NotAcknowledged { .. } => {
                StatusCode::NOT_FOUND
            }
            Refusal::NotAProblem { .. }
            | Refusal::PassiveDisabled { .. }
            | Refusal::NoCheck { .. }
            | Refusal::LedElsewhere { .. } => StatusCode::CONFLICT,
            Refusal::EmptyField { .. }
            | Refusal::EndNotAfterStart
            | Refusal::EndInPast
            | Refusal::ZeroFlexible
            | Refusal::WithServicesOnService => StatusCode::BAD_REQUEST,
        };
        match r.field() {
            Some((field, reason)) => ApiError::field(field, reason),
            None => ApiError::new(status, r.to_string()),
        }
    }
}

/// A refusal as above; a stopped monitor is 503; every other error is the
/// server's own failure, 500.
impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::Refused(r) => r.into(),
            Error::Stopped => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            e => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(serde_json::json!({ "error": self.message }))).into_response();
        if let Some(value) = self.authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
