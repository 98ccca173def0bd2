//! One HTTP request over `wasi:http/outgoing-handler`, bounded by the check's
//! own deadline.
//!
//! The host sends the request (and does TLS and name resolution); the guest
//! waits on the response and body pollables with [`Deadline::wait`], so a
//! slow server cannot hold the check past its timeout.

use std::time::Duration;

use wasmon_sdk::Deadline;
use wasmon_sdk::wasi::http::outgoing_handler;
use wasmon_sdk::wasi::http::types::{ErrorCode, Fields, Method, OutgoingRequest, RequestOptions, Scheme};
use wasmon_sdk::wasi::io::streams::StreamError;

/// What to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `https` when true, `http` otherwise.
    pub tls: bool,
    /// `host[:port]`, as it goes into the Host header.
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Send HEAD instead of GET.
    pub head: bool,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The body bytes read, at most the limit asked for.
    pub body: Vec<u8>,
    /// Reading stopped at the limit; the body is longer.
    pub truncated: bool,
    /// The `Location` header, if any (where a redirect points).
    pub location: Option<String>,
}

/// Why there is no response.
#[derive(Debug, Clone)]
pub enum FetchError {
    /// The deadline passed before the response (or its body) was complete.
    Timeout,
    /// The host reported an error for the request.
    Http(ErrorCode),
    /// The body stream failed after the status line arrived.
    Body(String),
    /// The request could not be built (a value the host rejected).
    Request(String),
}

/// Sends `request` and reads at most `max_body` bytes of the body, all
/// before `deadline`. `timeout` also goes to the host as connect,
/// first-byte and between-bytes timeout.
pub fn fetch(request: &Request, deadline: Deadline, timeout: Duration, max_body: u64) -> Result<Response, FetchError> {
    let headers = Fields::new();
    headers
        .set("user-agent", &[concat!("wasmon-check-http/", env!("CARGO_PKG_VERSION")).into()])
        .map_err(|e| FetchError::Request(format!("user-agent header rejected: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = if request.head { Method::Head } else { Method::Get };
    let scheme = if request.tls { Scheme::Https } else { Scheme::Http };
    outgoing.set_method(&method).map_err(|()| FetchError::Request("method rejected".to_owned()))?;
    outgoing.set_scheme(Some(&scheme)).map_err(|()| FetchError::Request("scheme rejected".to_owned()))?;
    outgoing
        .set_authority(Some(&request.authority))
        .map_err(|()| FetchError::Request(format!("invalid host '{}'", request.authority)))?;
    outgoing
        .set_path_with_query(Some(&request.path))
        .map_err(|()| FetchError::Request(format!("invalid path '{}'", request.path)))?;

    let timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    let options = RequestOptions::new();
    // A host may not support some of these; the guest's own deadline still holds.
    let _ = options.set_connect_timeout(Some(timeout_ns));
    let _ = options.set_first_byte_timeout(Some(timeout_ns));
    let _ = options.set_between_bytes_timeout(Some(timeout_ns));

    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(FetchError::Http)?;
    let ready = future.subscribe();
    let response = loop {
        match future.get() {
            Some(Ok(Ok(response))) => break Ok(response),
            Some(Ok(Err(code))) => break Err(FetchError::Http(code)),
            Some(Err(())) => break Err(FetchError::Request("response taken twice".to_owned())),
            None => {
                if !deadline.wait(&ready) {
                    break Err(FetchError::Timeout);
                }
            }
        }
    };
    drop(ready);
    drop(future);
    let response = response?;
    let status = response.status();
    let headers = response.headers();
    let location = headers.get("location").first().map(|value| String::from_utf8_lossy(value).into_owned());
    drop(headers);
    let body = response.consume().map_err(|()| FetchError::Body("response body unavailable".to_owned()))?;
    let stream = body.stream().map_err(|()| FetchError::Body("response body stream unavailable".to_owned()))?;

    let mut data = Vec::new();
    let mut truncated = false;
    let readable = stream.subscribe();
    let outcome = loop {
        let room = max_body.saturating_sub(data.len() as u64);
        if room == 0 {
            // One more byte tells a body of exactly `max_body` from a longer one.
            match stream.read(1) {
                Ok(chunk) if chunk.is_empty() => {
                    if !deadline.wait(&readable) {
                        break Err(FetchError::Timeout);
                    }
                    continue;
                }
                Ok(_) => truncated = true,
                Err(StreamError::Closed) => {}
                Err(StreamError::LastOperationFailed(e)) => {
                    break Err(body_error(&e));
                }
            }
            break Ok(());
        }
        match stream.read(room.min(65_536)) {
            Ok(chunk) if chunk.is_empty() => {
                if !deadline.wait(&readable) {
                    break Err(FetchError::Timeout);
                }
            }
            Ok(chunk) => data.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break Ok(()),
            Err(StreamError::LastOperationFailed(e)) => break Err(body_error(&e)),
        }
    };
    // Children first: pollable, stream, body, then the response.
    drop(readable);
    drop(stream);
    drop(body);
    drop(response);
    outcome?;
    Ok(Response { status, body: data, truncated, location })
}

/// Turns a body stream error into a [`FetchError`], using the HTTP error
/// code the host attached when there is one.
fn body_error(err: &wasmon_sdk::wasi::io::error::Error) -> FetchError {
    match wasmon_sdk::wasi::http::types::http_error_code(err) {
        Some(code) => FetchError::Http(code),
        None => FetchError::Body(err.to_debug_string()),
    }
}
