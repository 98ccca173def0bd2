//! The `webhook` method: an HTTP POST of the JSON body.

use std::time::Duration;

use super::{AttemptError, error_chain};

/// The shared HTTP client: no redirects, wasmon's user agent; timeouts are
/// set per request.
pub(super) fn client() -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("wasmon/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    // Building fails only when the TLS backend cannot initialise; a client
    // without our settings still works, and every request sets its timeout.
    builder.build().unwrap_or_else(|e| {
        tracing::error!(target: "wasmon::notify", error = %error_chain(&e), "cannot configure the HTTP client; using defaults");
        reqwest::Client::new()
    })
}

/// One attempt: POST `body` to `url`; a 2xx answer is success.
pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), AttemptError> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| {
            let error = e.without_url();
            if error.is_builder() {
                AttemptError::permanent(format!("invalid webhook request: {}", error_chain(&error)))
            } else if error.is_timeout() {
                AttemptError::transient(format!("timed out after {}", humantime::format_duration(timeout)))
            } else {
                AttemptError::transient(error_chain(&error))
            }
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // A little of the answer helps to see why the receiver refused.
    let text = match tokio::time::timeout(Duration::from_millis(500), response.text()).await {
        Ok(Ok(text)) => text,
        _ => String::new(),
    };
    let text = text.trim();
    let mut message = format!("webhook answered HTTP {status}");
    if !text.is_empty() {
        let snippet: String = text.chars().take(200).collect();
        message.push_str(": ");
        message.push_str(&snippet.replace(['\r', '\n'], " "));
    }
    // A refusal (4xx but 408 and 429) or a redirect stays what it is on a
    // retry; server errors and anything else may pass.
    let permanent = status.is_redirection()
        || (status.is_client_error()
            && status != reqwest::StatusCode::REQUEST_TIMEOUT
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS);
    Err(if permanent { AttemptError::permanent(message) } else { AttemptError::transient(message) })
}
