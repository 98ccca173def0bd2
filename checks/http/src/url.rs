//! URL and status-code helpers, free of WASI calls so they are unit-tested
//! natively.

/// An `http` or `https` URL split into what `wasi:http` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `https` when true.
    pub tls: bool,
    /// Host name or address; IPv6 addresses in brackets.
    pub host: String,
    /// The port, always set (80 or 443 when the URL has none).
    pub port: u16,
    /// Path and query, starting with `/`; the fragment is dropped.
    pub path: String,
}

impl Url {
    /// Parses `scheme://host[:port][/path][?query][#fragment]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest) = text.split_once("://").ok_or_else(|| format!("'{text}' is not an http(s) URL"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => return Err(format!("scheme '{other}' is not http or https")),
        };
        let rest = rest.split('#').next().unwrap_or("");
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') {
            return Err("user information in URLs is not supported".to_owned());
        }
        let (host, port) = split_host_port(authority)?;
        let port = port.unwrap_or(if tls { 443 } else { 80 });
        let path = if path.is_empty() {
            "/".to_owned()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("path '{path}' contains blanks or control characters"));
        }
        Ok(Self { tls, host, port, path })
    }

    /// Builds the URL from its parts (host as configured, bracketing IPv6).
    pub fn from_parts(tls: bool, host: &str, port: u16, path: &str) -> Result<Self, String> {
        let host = bracket(host);
        let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        Self::parse(&format!("{}://{host}:{port}{path}", if tls { "https" } else { "http" }))
    }

    /// `host` or `host:port` when the port is not the scheme's default, as
    /// the Host header wants it.
    pub fn authority(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }

    /// The URL written out again, for messages.
    pub fn display(&self) -> String {
        format!("{}://{}{}", if self.tls { "https" } else { "http" }, self.authority(), self.path)
    }
}

/// Puts an IPv6 address literal into brackets; leaves anything else alone.
pub fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_owned() }
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    if authority.is_empty() {
        return Err("the URL has no host".to_owned());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(|| format!("unclosed '[' in '{authority}'"))?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("'{inside}' is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| format!("bad host '{authority}'"))?),
        };
        (format!("[{inside}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c)) {
        return Err(format!("'{host}' is not a valid host name"));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("port '{p}' is not a number from 1 to 65535")),
        },
    };
    Ok((host, port))
}

/// Parses `expect`: comma-separated status codes from 100 to 599.
pub fn parse_codes(text: &str) -> Result<Vec<u16>, String> {
    let mut codes = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => codes.push(code),
            _ => return Err(format!("'{part}' is not an HTTP status code (100-599)")),
        }
    }
    if codes.is_empty() {
        return Err("no status code given".to_owned());
    }
    Ok(codes)
}

/// The standard reason phrase of a status code (RFC 9110 and friends), or
/// an empty string for codes without one. `wasi:http` does not pass the
/// server's own phrase on.
pub fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// `200 OK`, or just `299` for a code without a standard phrase.
pub fn status_text(code: u16) -> String {
    match reason(code) {
        "" => code.to_string(),
        phrase => format!("{code} {phrase}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_full_url() {
        let url = Url::parse("https://example.com:8443/a/b?x=1#frag").unwrap();
        assert!(url.tls);
        assert_eq!(url.host, "example.com");
        assert_eq!(url.port, 8443);
        assert_eq!(url.path, "/a/b?x=1");
        assert_eq!(url.authority(), "example.com:8443");
    }

    #[test]
    fn parse_defaults_port_and_path() {
        let url = Url::parse("http://example.com").unwrap();
        assert_eq!((url.port, url.path.as_str(), url.authority()), (80, "/", "example.com".into()));
        let url = Url::parse("HTTPS://example.com?q").unwrap();
        assert_eq!((url.port, url.path.as_str()), (443, "/?q"));
    }

    #[test]
    fn parse_ipv6() {
        let url = Url::parse("http://[::1]:8080/x").unwrap();
        assert_eq!(url.host, "[::1]");
        assert_eq!(url.authority(), "[::1]:8080");
        let built = Url::from_parts(false, "::1", 80, "status").unwrap();
        assert_eq!(built.display(), "http://[::1]/status");
        assert!(Url::parse("http://[zz]/").is_err());
    }

    #[test]
    fn parse_rejects_bad_urls() {
        assert!(Url::parse("ftp://x/").is_err());
        assert!(Url::parse("example.com/").is_err());
        assert!(Url::parse("http://user@host/").is_err());
        assert!(Url::parse("http://host:0/").is_err());
        assert!(Url::parse("http://host:70000/").is_err());
        assert!(Url::parse("http:///path").is_err());
        assert!(Url::parse("http://host/a b").is_err());
    }

    #[test]
    fn codes() {
        assert_eq!(parse_codes("200, 301,302").unwrap(), vec![200, 301, 302]);
        assert!(parse_codes("20x").is_err());
        assert!(parse_codes("600").is_err());
        assert!(parse_codes(" , ").is_err());
    }

    #[test]
    fn status_texts() {
        assert_eq!(status_text(404), "404 Not Found");
        assert_eq!(status_text(299), "299");
    }
}
