//! Delivering notifications: one notification the state processor decided
//! (a [`crate::NotificationKind`]) sent to every method of
//! a contact.
//!
//! A [`Notifier`] runs all methods of a contact **in parallel**, each with a
//! per-attempt timeout and a bounded number of retries, and returns one
//! [`Delivery`] per method for the caller to record. A failing or hanging
//! method never holds up the others; [`Notifier::deliver`] returns after at
//! most the slowest method's budget (`timeout × attempts` plus the delays
//! between attempts) and never panics.
//!
//! # Methods
//!
//! - `log`: one structured line in wasmon's log (target `wasmon::notify`):
//!   `WARN` for a problem, `INFO` for a recovery, with every field of the
//!   [`NotificationMessage`] as a field of the event. Always delivered.
//! - `webhook`: an HTTP `POST` of the message as JSON (the body below) with
//!   `Content-Type: application/json` and `User-Agent: wasmon/<version>`.
//!   Any 2xx answer is delivered; anything else fails, naming the status.
//!   Redirects are not followed (a 3xx is a failure). Client errors (4xx
//!   other than 408 and 429) are not retried. The per-attempt timeout is the
//!   method's own `timeout`.
//! - `email`: a plain-text mail through the SMTP server at `smtp`
//!   (`host:port`, port 25 when omitted), subject
//!   `PROBLEM: web1/Lifecycle is CRITICAL` (`PROBLEM: web1 is DOWN` for a
//!   host). STARTTLS is used when the server offers it (rustls, Mozilla's
//!   root certificates, TLS 1.2 or later) and the mail is sent in plain text
//!   otherwise: this suits local relays, but a man in the middle can strip
//!   the STARTTLS offer. Enforced TLS, implicit TLS (port 465) and SMTP
//!   authentication are not configurable yet. Permanent SMTP errors (5xx)
//!   are not retried. The per-attempt timeout is
//!   [`NotifierSettings::timeout`].
//!
//! # The webhook body
//!
//! The JSON body is the [`NotificationMessage`] serialized as is; every
//! field is always present:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `id` | integer | the notification's id: stable across restarts (the retention file's and the `notification` event's), the same when a delivery is repeated after a restart |
//! | `host` | string | the host's name |
//! | `service` | string or null | the service's name; null for a host notification |
//! | `kind` | string | `"PROBLEM"` or `"RECOVERY"` |
//! | `state` | string | `OK`, `WARNING`, `CRITICAL`, `UNKNOWN` for a service; `UP`, `DOWN`, `UNREACHABLE` for a host |
//! | `output` | string | the first line of the check's output |
//! | `long_output` | string | the remaining lines of the output, possibly empty |
//! | `time` | integer | when the notification was decided, in UNIX seconds |
//! | `attempt` | integer | the check attempt the state was reached at |
//! | `max_attempts` | integer | the object's `max_check_attempts` |
//! | `contact` | string | the name of the contact being notified |
//!
//! ```json
//! {
//!   "id": 17,
//!   "host": "web1",
//!   "service": "Lifecycle",
//!   "kind": "PROBLEM",
//!   "state": "CRITICAL",
//!   "output": "Disk usage: 97.0% (warn/crit at 80.0%/90.0%)",
//!   "long_output": "",
//!   "time": 1790000000,
//!   "attempt": 3,
//!   "max_attempts": 3,
//!   "contact": "ops"
//! }
//! ```
//!
//! # Example
//!
//! ```no_run
//! use wasmon_runtime::config::{Contact, Method};
//! use wasmon_runtime::notify::{NotificationMessage, Notifier, NotifierSettings};
//! use wasmon_runtime::NotificationKind;
//!
//! # async fn example() {
//! let notifier = Notifier::new(NotifierSettings::default());
//! let contact = Contact { name: "ops".into(), methods: vec![Method::Log], ..Contact::default() };
//! let message = NotificationMessage {
//!     id: 1,
//!     host: "web1".into(),
//!     service: Some("Lifecycle".into()),
//!     kind: NotificationKind::Problem,
//!     state: "CRITICAL".into(),
//!     output: "Something broke".into(),
//!     long_output: String::new(),
//!     time: 1_790_000_000,
//!     attempt: 3,
//!     max_attempts: 3,
//!     contact: String::new(), // filled in by `deliver`
//!     author: None,
//!     comment: None,
//! };
//! for delivery in notifier.deliver(&contact, &message).await {
//!     println!("{} to {}: {:?}", delivery.method, delivery.contact, delivery.outcome);
//! }
//! # }
//! ```

mod email;
mod webhook;

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Contact, Method};
use crate::state::NotificationKind;

/// What a notification says: the webhook JSON body, the content of the mail
/// and the fields of the log line. See the [module docs](self) for the JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationMessage {
    /// The notification's id: the same in the retention file and in the
    /// `notification` event, so a receiver can drop a repeat delivered
    /// again after a restart.
    pub id: u64,
    /// The host's name.
    pub host: String,
    /// The service's name; `None` (JSON `null`) for a host notification.
    pub service: Option<String>,
    /// `PROBLEM`, `RECOVERY`, `ACKNOWLEDGEMENT`, `FLAPPINGSTART`,
    /// `FLAPPINGSTOP`, `DOWNTIMESTART`, `DOWNTIMEEND`,
    /// `DOWNTIMECANCELLED` or `CUSTOM`.
    pub kind: NotificationKind,
    /// The state notified about: `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`
    /// for a service, `UP`, `DOWN` or `UNREACHABLE` for a host.
    pub state: String,
    /// The first line of the check's output.
    pub output: String,
    /// The remaining lines of the check's output, possibly empty.
    pub long_output: String,
    /// When the notification was decided, in seconds since the UNIX epoch.
    pub time: u64,
    /// The check attempt the state was reached at.
    pub attempt: u32,
    /// The object's `max_check_attempts`.
    pub max_attempts: u32,
    /// The name of the contact notified. [`Notifier::deliver`] sets it to
    /// the contact it delivers to, so one message can serve every contact.
    pub contact: String,
    /// Who acknowledged, scheduled the downtime or sent the custom
    /// notification (left out of the JSON when there is nobody).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Their comment (left out of the JSON when there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl NotificationMessage {
    /// `web1/Lifecycle` for a service, `web1` for a host.
    pub fn object_name(&self) -> String {
        match &self.service {
            Some(service) => format!("{}/{}", self.host, service),
            None => self.host.clone(),
        }
    }

    /// The mail subject: `PROBLEM: web1/Lifecycle is CRITICAL`.
    pub fn subject(&self) -> String {
        format!("{}: {} is {}", kind_name(self.kind), self.object_name(), self.state)
    }

    /// The plain-text mail body: the subject line, then every field.
    pub fn text(&self) -> String {
        let time = std::time::UNIX_EPOCH + Duration::from_secs(self.time);
        let mut text = format!(
            "{subject}\n\n\
             Type:     {kind}\n\
             Host:     {host}\n\
             Service:  {service}\n\
             State:    {state}\n\
             Attempt:  {attempt}/{max}\n\
             Time:     {time} ({secs})\n\
             Contact:  {contact}\n\n\
             Output:\n{output}\n",
            subject = self.subject(),
            kind = kind_name(self.kind),
            host = self.host,
            service = self.service.as_deref().unwrap_or("-"),
            state = self.state,
            attempt = self.attempt,
            max = self.max_attempts,
            time = humantime::format_rfc3339_seconds(time),
            secs = self.time,
            contact = self.contact,
            output = self.output,
        );
        if let Some(author) = &self.author {
            text.push_str(&format!("\nAuthor:   {author}\n"));
        }
        if let Some(comment) = &self.comment {
            text.push_str(&format!("Comment:  {comment}\n"));
        }
        if !self.long_output.is_empty() {
            text.push_str("\nLong output:\n");
            text.push_str(&self.long_output);
            if !self.long_output.ends_with('\n') {
                text.push('\n');
            }
        }
        text
    }
}

fn kind_name(kind: NotificationKind) -> &'static str {
    kind.as_str()
}

/// The result of one method of one contact, for the caller to record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The method's kind: `log`, `webhook` or `email` ([`Method::kind`]).
    pub method: String,
    /// The contact's name.
    pub contact: String,
    /// Delivered or failed.
    pub outcome: DeliveryOutcome,
    /// Attempts made (1 = the first try; 0 when none could be made).
    pub attempts: u32,
}

impl Delivery {
    /// Whether the method delivered the notification.
    pub fn delivered(&self) -> bool {
        matches!(self.outcome, DeliveryOutcome::Delivered)
    }
}

/// Where a notification's delivery is: what the notifier reports and the
/// retention file keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// Decided and persisted, not yet delivered: sent again after a restart.
    Pending,
    /// Accepted by the receiver (a 2xx answer, a mail accepted by the SMTP
    /// server, a line written to the log).
    Delivered,
    /// Every attempt failed, or one failed in a way a retry cannot fix; not
    /// sent again.
    Failed {
        /// The last attempt's error, in one line.
        error: String,
    },
}

impl DeliveryOutcome {
    /// `pending`, `delivered` or `failed`, as the retention file writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryOutcome::Pending => "pending",
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Failed { .. } => "failed",
        }
    }

    /// The error of a failed delivery.
    pub fn error(&self) -> Option<&str> {
        match self {
            DeliveryOutcome::Failed { error } => Some(error),
            _ => None,
        }
    }
}

/// Timeouts and retries of a [`Notifier`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifierSettings {
    /// Per-attempt timeout of methods that have none of their own (`email`;
    /// a `webhook` uses its configured `timeout`). Default 10 s.
    pub timeout: Duration,
    /// Attempts after the first one when an attempt fails. Default 2.
    pub retries: u32,
    /// Wait before the first retry; doubled before each further one.
    /// Default 1 s.
    pub retry_delay: Duration,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        NotifierSettings { timeout: Duration::from_secs(10), retries: 2, retry_delay: Duration::from_secs(1) }
    }
}

impl NotifierSettings {
    /// The longest a method with per-attempt timeout `timeout` can take:
    /// `timeout × (retries + 1)` plus every delay between attempts.
    pub fn budget(&self, timeout: Duration) -> Duration {
        let mut total = timeout.saturating_mul(self.retries.saturating_add(1));
        let mut delay = self.retry_delay;
        for _ in 0..self.retries {
            total = total.saturating_add(delay);
            delay = delay.saturating_mul(2);
        }
        total
    }
}

/// Delivers notifications. Cheap to share: one per engine, used from any
/// task; it holds one HTTP client (with its connection pool).
#[derive(Clone, Debug)]
pub struct Notifier {
    settings: NotifierSettings,
    http: reqwest::Client,
}

impl Notifier {
    /// A notifier with `settings`.
    pub fn new(settings: NotifierSettings) -> Self {
        Notifier { settings, http: webhook::client() }
    }

    /// Its settings.
    pub fn settings(&self) -> &NotifierSettings {
        &self.settings
    }

    /// Sends `message` to every method of `contact` at once (with
    /// `message.contact` set to the contact's name) and returns one
    /// [`Delivery`] per method, in the order of `contact.methods`.
    pub async fn deliver(&self, contact: &Contact, message: &NotificationMessage) -> Vec<Delivery> {
        let mut message = message.clone();
        message.contact.clone_from(&contact.name);
        let message = &message;
        let sends = contact.methods.iter().map(|method| async move {
            let (outcome, attempts) = self.send(method, message).await;
            if let DeliveryOutcome::Failed { error } = &outcome {
                tracing::warn!(
                    target: "wasmon::notify",
                    method = method.kind(),
                    contact = %message.contact,
                    object = %message.object_name(),
                    attempts,
                    error = %error,
                    "notification failed"
                );
            }
            Delivery { method: method.kind().to_owned(), contact: message.contact.clone(), outcome, attempts }
        });
        futures::future::join_all(sends).await
    }

    /// Sends by one method: the outcome and the attempts made.
    async fn send(&self, method: &Method, message: &NotificationMessage) -> (DeliveryOutcome, u32) {
        match method {
            Method::Log => {
                log(message);
                (DeliveryOutcome::Delivered, 1)
            }
            Method::Webhook { url, timeout } => {
                let body = match serde_json::to_vec(message) {
                    Ok(body) => body,
                    Err(e) => {
                        return (DeliveryOutcome::Failed { error: format!("cannot encode JSON: {e}") }, 0);
                    }
                };
                self.retry(*timeout, || webhook::post(&self.http, url, body.clone(), *timeout)).await
            }
            Method::Email { to, from, smtp } => {
                let mail = match email::Mail::new(message, from, to, smtp, self.settings.timeout) {
                    Ok(mail) => mail,
                    Err(e) => return (DeliveryOutcome::Failed { error: e.message }, 0),
                };
                self.retry(self.settings.timeout, || mail.send()).await
            }
        }
    }

    /// Runs `attempt` up to `retries + 1` times, each cut at `timeout`,
    /// waiting `retry_delay` (doubling) in between; stops at the first
    /// success or at an error marked permanent.
    async fn retry<F, Fut>(&self, timeout: Duration, mut attempt: F) -> (DeliveryOutcome, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), AttemptError>>,
    {
        let max = self.settings.retries.saturating_add(1);
        let mut delay = self.settings.retry_delay;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let error = match tokio::time::timeout(timeout, attempt()).await {
                Ok(Ok(())) => return (DeliveryOutcome::Delivered, attempts),
                Ok(Err(e)) => e,
                Err(_) => AttemptError::transient(format!("timed out after {}", humantime::format_duration(timeout))),
            };
            if error.permanent || attempts >= max {
                return (DeliveryOutcome::Failed { error: error.message }, attempts);
            }
            tracing::debug!(target: "wasmon::notify", attempts, error = %error.message, "notification attempt failed, retrying");
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
}

/// Why one attempt failed.
#[derive(Debug)]
struct AttemptError {
    message: String,
    /// A retry cannot help (a rejected address, a 4xx answer).
    permanent: bool,
}

impl AttemptError {
    fn transient(message: impl Into<String>) -> Self {
        AttemptError { message: message.into(), permanent: false }
    }

    fn permanent(message: impl Into<String>) -> Self {
        AttemptError { message: message.into(), permanent: true }
    }
}

/// `error: source: source...`, leaving out sources whose text the message
/// already contains.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// The `log` method. String fields are recorded as `&str` so that text
/// formatters quote and escape them: one event stays one line even with a
/// multi-line `long_output`.
fn log(m: &NotificationMessage) {
    let service = m.service.as_deref().unwrap_or("");
    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                target: "wasmon::notify",
                $level,
                kind = kind_name(m.kind),
                host = m.host.as_str(),
                service,
                state = m.state.as_str(),
                output = m.output.as_str(),
                long_output = m.long_output.as_str(),
                time = m.time,
                attempt = m.attempt,
                max_attempts = m.max_attempts,
                contact = m.contact.as_str(),
                "{}",
                m.subject()
            )
        };
    }
    match m.kind {
        NotificationKind::Problem => event!(tracing::Level::WARN),
        _ => event!(tracing::Level::INFO),
    }
}

#[cfg(test)]
mod tests;
