//! The `[api]` table: where `wasmon run` serves its HTTP API and which
//! bearer tokens may use it.
//!
//! ```toml
//! [api]
//! listen = "127.0.0.1:8642"     # required when [api] is present
//! max_body = "1MiB"             # request body size limit (default 1 MiB)
//! max_connections = 256         # open connections at most (default 256)
//! header_timeout = "30s"        # time to send a request's headers (default 30 s)
//! event_buffer = "256KiB"       # bytes buffered per connection/event stream (default 256 KiB)
//! requests_per_second = 200     # per token, bursts of twice that (default 200)
//!
//! [[api.token]]
//! name = "ci"
//! token_env = "WASMON_API_TOKEN" # or token = "..." in the file
//! scopes = ["read", "write"]
//! ```

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The built-in `[api] max_body`: 1 MiB.
pub const API_MAX_BODY: usize = 1 << 20;

/// The port the README's examples use for `[api] listen`.
pub const API_PORT: u16 = 8642;

/// The HTTP API's settings (`[api]`). Without `[api]` the configuration
/// has none (`Config::api` is `None`) and `wasmon run` serves no API.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiSettings {
    /// `listen`: the address and port to listen on (port 0: any free one).
    pub listen: SocketAddr,
    /// `max_body`: the largest request body accepted, in bytes.
    pub max_body: usize,
    /// `[[api.token]]`: who may call it. Every request needs one of these.
    pub tokens: Vec<ApiToken>,
    /// The limits that hold before a request is authenticated.
    pub limits: ApiLimits,
}

/// What one client may take of the API, whoever it is (`[api]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// `max_connections`: open connections at most; more wait to be
    /// accepted until one closes. Default 256.
    pub max_connections: usize,
    /// `header_timeout`: how long a client has to send a request's headers
    /// (also the longest idle time of a kept-alive connection). Default 30 s.
    pub header_timeout: Duration,
    /// `event_buffer`: bytes of a response buffered for one connection; an
    /// event stream subscriber that does not read stops there, falls
    /// behind and is told it missed events (`lagged`). Default 256 KiB.
    pub event_buffer: usize,
    /// `requests_per_second`: requests per second per token, with bursts of
    /// twice that; more get 429 with `Retry-After`. Default 200.
    pub requests_per_second: u32,
}

impl Default for ApiLimits {
    fn default() -> ApiLimits {
        ApiLimits {
            max_connections: 256,
            header_timeout: Duration::from_secs(30),
            event_buffer: 256 << 10,
            requests_per_second: 200,
        }
    }
}

impl Default for ApiSettings {
    fn default() -> ApiSettings {
        ApiSettings {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, API_PORT)),
            max_body: API_MAX_BODY,
            tokens: Vec::new(),
            limits: ApiLimits::default(),
        }
    }
}

/// One bearer token (`[[api.token]]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiToken {
    /// `name`: who holds it, for logs (unique).
    pub name: String,
    /// `token`, or the value of the environment variable `token_env` at start.
    pub secret: Secret,
    /// `scopes`: what it may do.
    pub scopes: Vec<Scope>,
}

impl ApiToken {
    /// Whether the token grants `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// What a token may do. `write` does not imply `read`: list both for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `read`: the GET endpoints and the event stream.
    Read,
    /// `write`: everything else (results, rechecks, acknowledgements,
    /// downtimes, reloads).
    Write,
}

impl Scope {
    /// The name as configured: `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret that `Debug` does not print, so a logged configuration does
/// not leak it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}
