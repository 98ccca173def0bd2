//! Parameter syntax and output text helpers, free of WASI calls so they are
//! unit-tested natively.

/// Replaces the escapes check_tcp accepts with `-E` (`\n`, `\r`, `\t`, `\\`).
/// Any other backslash sequence is an error naming it.
pub fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => return Err(format!("unknown escape '\\{other}'")),
            None => return Err("a trailing backslash".to_owned()),
        }
    }
    Ok(out)
}

/// How much of a peer's response the summary shows.
const SHOW_CHARS: usize = 80;

/// The first line of `data` for the one-line summary: lossy UTF-8, control
/// characters dropped, cut at 80 characters with "...".
pub fn first_line(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let line = text.split(['\r', '\n']).find(|l| !l.trim().is_empty()).unwrap_or("");
    let clean: String = line.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.chars().count() > SHOW_CHARS {
        let cut: String = clean.chars().take(SHOW_CHARS).collect();
        format!("{cut}...")
    } else {
        clean.to_owned()
    }
}

/// All of `data` as text for the long output: lossy UTF-8, line ends kept,
/// other control characters dropped.
pub fn printable(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .chars()
        .filter(|&c| c == '\n' || !c.is_control())
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Seconds for messages: "10", "2.5" (no trailing zeros).
pub fn seconds_text(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `address port N`, with IPv6 addresses as they are (no brackets needed
/// since the port is spelled out).
pub fn endpoint(address: &std::net::IpAddr, port: u16) -> String {
    format!("{address} port {port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_known_sequences() {
        assert_eq!(unescape(r"HEAD / HTTP/1.0\r\n\r\n").unwrap(), "HEAD / HTTP/1.0\r\n\r\n");
        assert_eq!(unescape(r"a\tb\\c").unwrap(), "a\tb\\c");
        assert_eq!(unescape("plain").unwrap(), "plain");
    }

    #[test]
    fn unescape_rejects_unknown_and_trailing() {
        assert!(unescape(r"\x41").unwrap_err().contains(r"\x"));
        assert!(unescape("a\\").is_err());
    }

    #[test]
    fn first_line_skips_blank_lines_and_truncates() {
        assert_eq!(first_line(b"\r\nSSH-2.0-OpenSSH_9.2\r\nmore"), "SSH-2.0-OpenSSH_9.2");
        let long = vec![b'x'; 200];
        let shown = first_line(&long);
        assert_eq!(shown.len(), SHOW_CHARS + 3);
        assert!(shown.ends_with("..."));
        assert_eq!(first_line(b"a\x07b"), "ab");
    }

    #[test]
    fn contains_finds_substrings() {
        assert!(contains(b"220 mail ESMTP", b"ESMTP"));
        assert!(!contains(b"220 mail", b"ESMTP"));
        assert!(contains(b"", b""));
        assert!(!contains(b"ab", b"abc"));
    }

    #[test]
    fn seconds_text_trims() {
        assert_eq!(seconds_text(10.0), "10");
        assert_eq!(seconds_text(2.5), "2.5");
        assert_eq!(seconds_text(0.25), "0.25");
    }
}
