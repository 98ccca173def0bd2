//! The `email` method: a plain-text mail through an SMTP server.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{AttemptError, NotificationMessage, error_chain};

/// A mail ready to send, with the transport to send it through.
pub(super) struct Mail {
    message: Message,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

impl Mail {
    /// Builds the mail and the transport; fails (permanently) on an
    /// invalid address or server.
    pub(super) fn new(
        notification: &NotificationMessage,
        from: &str,
        to: &str,
        smtp: &str,
        timeout: Duration,
    ) -> Result<Mail, AttemptError> {
        let from: Mailbox =
            from.parse().map_err(|e| AttemptError::permanent(format!("invalid sender address '{from}': {e}")))?;
        let to: Mailbox =
            to.parse().map_err(|e| AttemptError::permanent(format!("invalid recipient address '{to}': {e}")))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(notification.subject())
            .header(ContentType::TEXT_PLAIN)
            .body(notification.text())
            .map_err(|e| AttemptError::permanent(format!("cannot build the mail: {}", error_chain(&e))))?;
        let (host, port) = split_server(smtp)?;
        // STARTTLS when the server offers it, plain text when it does not.
        let tls = match TlsParameters::new(host.clone()) {
            Ok(parameters) => Tls::Opportunistic(parameters),
            Err(e) => {
                tracing::warn!(target: "wasmon::notify", server = smtp, error = %error_chain(&e), "no TLS for this SMTP server; sending in plain text");
                Tls::None
            }
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(timeout))
            .build();
        Ok(Mail { message, transport, server: smtp.to_owned() })
    }

    /// One attempt: a new connection, the mail, QUIT.
    pub(super) async fn send(&self) -> Result<(), AttemptError> {
        match self.transport.send(self.message.clone()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let message = format!("SMTP server {}: {}", self.server, error_chain(&e));
                Err(if e.is_permanent() { AttemptError::permanent(message) } else { AttemptError::transient(message) })
            }
        }
    }
}

/// `host:port`, `[v6]:port`, or a host alone (port 25).
fn split_server(smtp: &str) -> Result<(String, u16), AttemptError> {
    let invalid = || AttemptError::permanent(format!("invalid SMTP server '{smtp}': expected host:port"));
    let (host, port) = if let Some(rest) = smtp.strip_prefix('[') {
        let (host, rest) = rest.split_once(']').ok_or_else(invalid)?;
        let port = match rest.strip_prefix(':') {
            Some(port) => port.parse().map_err(|_| invalid())?,
            None if rest.is_empty() => 25,
            None => return Err(invalid()),
        };
        (host, port)
    } else {
        match smtp.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, port.parse().map_err(|_| invalid())?),
            Some(_) => return Err(invalid()),
            None => (smtp, 25),
        }
    };
    if host.is_empty() || port == 0 {
        return Err(invalid());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::split_server;

    #[test]
    fn servers() {
        assert_eq!(split_server("mail.example.com:587").unwrap(), ("mail.example.com".to_owned(), 587));
        assert_eq!(split_server("127.0.0.1:2525").unwrap(), ("127.0.0.1".to_owned(), 2525));
        assert_eq!(split_server("[::1]:25").unwrap(), ("::1".to_owned(), 25));
        assert_eq!(split_server("relay").unwrap(), ("relay".to_owned(), 25));
        for bad in ["", ":25", "relay:x", "relay:0", "::1:25", "[::1", "[::1]x"] {
            assert!(split_server(bad).is_err(), "{bad}");
        }
    }
}
