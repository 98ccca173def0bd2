//! What the API answers when it cannot do what was asked: a status and
//! `{"error": "..."}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::Error;

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

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let status = match &e {
            Error::NotFound { .. } | Error::NoSuchDowntime { .. } | Error::NotAcknowledged { .. } => {
                StatusCode::NOT_FOUND
            }
            Error::Refused { .. } | Error::NotAProblem { .. } => StatusCode::CONFLICT,
            Error::InvalidRequest { field, reason } => return ApiError::field(field, reason),
            Error::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
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
