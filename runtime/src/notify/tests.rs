//! Delivery against real receivers on loopback: an HTTP server and an SMTP
//! server written here on plain tokio sockets.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::*;

const TIMEOUT: Duration = Duration::from_millis(200);
const DELAY: Duration = Duration::from_millis(50);
/// Slack for a loaded 2-core machine on top of a computed budget.
const MARGIN: Duration = Duration::from_millis(1500);

fn settings() -> NotifierSettings {
    NotifierSettings { timeout: TIMEOUT, retries: 2, retry_delay: DELAY }
}

fn message() -> NotificationMessage {
    NotificationMessage {
        id: 7,
        host: "web1".into(),
        service: Some("Lifecycle".into()),
        kind: NotificationKind::Problem,
        state: "CRITICAL".into(),
        output: "Disk usage: 97.0% (warn/crit at 80.0%/90.0%)".into(),
        long_output: "/: 97.0%\n/var: 12.0%".into(),
        time: 1_790_000_000,
        attempt: 3,
        max_attempts: 3,
        contact: String::new(),
        author: None,
        comment: None,
    }
}

fn contact(methods: Vec<Method>) -> Contact {
    Contact { name: "ops".into(), methods, ..Contact::default() }
}

fn webhook(addr: SocketAddr) -> Method {
    Method::Webhook { url: format!("http://{addr}/hook"), timeout: TIMEOUT }
}

fn email(addr: SocketAddr) -> Method {
    Method::Email { to: "oncall@example.com".into(), from: "wasmon@example.com".into(), smtp: addr.to_string() }
}

// ---------------------------------------------------------------- HTTP

/// One HTTP request as received.
#[derive(Clone, Debug)]
struct Request {
    head: String,
    body: Vec<u8>,
}

/// An HTTP receiver answering the n-th request with `statuses[n]` (the last
/// one for all further requests) and recording every request.
struct HttpReceiver {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

async fn http_receiver(statuses: Vec<u16>) -> HttpReceiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let recorded = recorded.clone();
            let statuses = statuses.clone();
            tokio::spawn(async move {
                let Some(request) = read_request(stream).await else { return };
                let (mut stream, request) = request;
                let status = {
                    let mut all = recorded.lock().unwrap();
                    all.push(request);
                    statuses[(all.len() - 1).min(statuses.len() - 1)]
                };
                let body = format!("status {status}");
                let answer = format!(
                    "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    HttpReceiver { addr, requests }
}

async fn read_request(mut stream: TcpStream) -> Option<(TcpStream, Request)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let body = data[head_end..head_end + length].to_vec();
    Some((stream, Request { head, body }))
}

/// A receiver that accepts connections and never answers; records when
/// each connection came.
struct Silent {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<Instant>>>,
}

async fn silent_receiver() -> Silent {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(Mutex::new(Vec::new()));
    let recorded = connections.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            recorded.lock().unwrap().push(Instant::now());
            held.push(stream);
        }
    });
    Silent { addr, connections }
}

// ---------------------------------------------------------------- SMTP

/// A mail as the SMTP server received it.
#[derive(Clone, Debug)]
struct Received {
    from: String,
    rcpt: Vec<String>,
    data: String,
}

struct SmtpServer {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Received>>>,
    connections: Arc<Mutex<Vec<Instant>>>,
}

/// A minimal SMTP server without STARTTLS; `reject_rcpt` answers RCPT
/// with 550.
async fn smtp_server(reject_rcpt: bool) -> SmtpServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(Mutex::new(Vec::new()));
    let (m, c) = (mails.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            c.lock().unwrap().push(Instant::now());
            tokio::spawn(smtp_session(stream, m.clone(), reject_rcpt));
        }
    });
    SmtpServer { addr, mails, connections }
}

async fn smtp_session(stream: TcpStream, mails: Arc<Mutex<Vec<Received>>>, reject_rcpt: bool) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut from = String::new();
    let mut rcpt = Vec::new();
    if write.write_all(b"220 test.local ESMTP ready\r\n").await.is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-test.local\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "RSET" => {
                from.clear();
                rcpt.clear();
                b"250 OK\r\n"
            }
            "MAIL" => {
                from = command[command.find(':').map_or(0, |i| i + 1)..].trim().to_owned();
                b"250 OK\r\n"
            }
            "RCPT" if reject_rcpt => b"550 5.1.1 no such user\r\n",
            "RCPT" => {
                rcpt.push(command[command.find(':').map_or(0, |i| i + 1)..].trim().to_owned());
                b"250 OK\r\n"
            }
            "DATA" => {
                if write.write_all(b"354 go ahead\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                loop {
                    let mut line = String::new();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    // Dot-unstuffing.
                    data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                }
                mails.lock().unwrap().push(Received { from: from.clone(), rcpt: rcpt.clone(), data });
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// A loopback port with nothing listening.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn webhook_posts_the_documented_json() {
    let receiver = http_receiver(vec![200]).await;
    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![webhook(receiver.addr)]), &message()).await;
    assert_eq!(
        deliveries,
        vec![Delivery {
            method: "webhook".into(),
            contact: "ops".into(),
            outcome: DeliveryOutcome::Delivered,
            attempts: 1,
        }]
    );
    let requests = receiver.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let head = requests[0].head.to_ascii_lowercase();
    assert!(head.starts_with("post /hook http/1.1\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-type: application/json\r\n"), "{head}");
    assert!(head.contains("\r\nuser-agent: wasmon/"), "{head}");
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "id": 7,
            "host": "web1",
            "service": "Lifecycle",
            "kind": "PROBLEM",
            "state": "CRITICAL",
            "output": "Disk usage: 97.0% (warn/crit at 80.0%/90.0%)",
            "long_output": "/: 97.0%\n/var: 12.0%",
            "time": 1_790_000_000u64,
            "attempt": 3,
            "max_attempts": 3,
            "contact": "ops",
        })
    );
}

#[tokio::test]
async fn webhook_host_recovery_has_a_null_service() {
    let receiver = http_receiver(vec![204]).await;
    let notifier = Notifier::new(settings());
    let m = NotificationMessage { service: None, kind: NotificationKind::Recovery, state: "UP".into(), ..message() };
    let deliveries = notifier.deliver(&contact(vec![webhook(receiver.addr)]), &m).await;
    assert!(deliveries[0].delivered(), "{deliveries:?}");
    let body: serde_json::Value = serde_json::from_slice(&receiver.requests.lock().unwrap()[0].body).unwrap();
    assert_eq!(body["service"], serde_json::Value::Null);
    assert_eq!(body["kind"], "RECOVERY");
    assert_eq!(body["state"], "UP");
}

#[tokio::test]
async fn webhook_retries_server_errors() {
    let receiver = http_receiver(vec![500, 500, 200]).await;
    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![webhook(receiver.addr)]), &message()).await;
    assert_eq!((&deliveries[0].outcome, deliveries[0].attempts), (&DeliveryOutcome::Delivered, 3));
    assert_eq!(receiver.requests.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn webhook_fails_naming_the_status_after_all_attempts() {
    let receiver = http_receiver(vec![503]).await;
    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![webhook(receiver.addr)]), &message()).await;
    let (DeliveryOutcome::Failed { error }, attempts) = (&deliveries[0].outcome, &deliveries[0].attempts) else {
        panic!("{deliveries:?}")
    };
    assert_eq!(*attempts, 3);
    assert!(error.contains("HTTP 503"), "{error}");
    assert!(error.contains("status 503"), "the answer's text is quoted: {error}");
    assert_eq!(receiver.requests.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn webhook_client_error_is_not_retried() {
    let receiver = http_receiver(vec![404, 200]).await;
    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![webhook(receiver.addr)]), &message()).await;
    let (DeliveryOutcome::Failed { error }, attempts) = (&deliveries[0].outcome, &deliveries[0].attempts) else {
        panic!("{deliveries:?}")
    };
    assert_eq!(*attempts, 1);
    assert!(error.contains("HTTP 404"), "{error}");
    assert_eq!(receiver.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn webhook_that_never_answers_fails_after_its_timeouts() {
    let receiver = silent_receiver().await;
    let notifier = Notifier::new(settings());
    let start = Instant::now();
    let deliveries = notifier.deliver(&contact(vec![webhook(receiver.addr)]), &message()).await;
    let elapsed = start.elapsed();
    let (DeliveryOutcome::Failed { error }, attempts) = (&deliveries[0].outcome, &deliveries[0].attempts) else {
        panic!("{deliveries:?}")
    };
    assert_eq!(*attempts, 3);
    assert!(error.contains("timed out after 200ms"), "{error}");
    assert_eq!(receiver.connections.lock().unwrap().len(), 3);
    let budget = settings().budget(TIMEOUT);
    assert_eq!(budget, Duration::from_millis(750));
    // Each attempt waited its timeout, and the whole stayed within budget.
    assert!(elapsed >= TIMEOUT * 3, "{elapsed:?}");
    assert!(elapsed <= budget + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn webhook_to_a_closed_port_fails() {
    let addr = closed_port().await;
    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![webhook(addr)]), &message()).await;
    let (DeliveryOutcome::Failed { error }, attempts) = (&deliveries[0].outcome, &deliveries[0].attempts) else {
        panic!("{deliveries:?}")
    };
    assert_eq!(*attempts, 3);
    assert!(error.to_ascii_lowercase().contains("connect"), "{error}");
}

#[tokio::test]
async fn email_is_delivered_over_smtp() {
    let server = smtp_server(false).await;
    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![email(server.addr)]), &message()).await;
    assert_eq!(
        deliveries,
        vec![Delivery {
            method: "email".into(),
            contact: "ops".into(),
            outcome: DeliveryOutcome::Delivered,
            attempts: 1,
        }]
    );
    let mails = server.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "<wasmon@example.com>");
    assert_eq!(mail.rcpt, vec!["<oncall@example.com>".to_owned()]);
    let data = &mail.data;
    assert!(data.contains("Subject: PROBLEM: web1/Lifecycle is CRITICAL\r\n"), "{data}");
    assert!(data.contains("To: oncall@example.com\r\n"), "{data}");
    assert!(data.contains("From: wasmon@example.com\r\n"), "{data}");
    assert!(data.to_ascii_lowercase().contains("content-type: text/plain; charset=utf-8\r\n"), "{data}");
    // The body is quoted-printable or plain depending on its characters;
    // these fields are ASCII without `=`.
    for field in ["Host:     web1", "Service:  Lifecycle", "State:    CRITICAL", "Attempt:  3/3", "Contact:  ops"] {
        assert!(data.contains(field), "{field} missing in {data}");
    }
}

#[tokio::test]
async fn email_to_a_closed_port_fails_clearly() {
    let addr = closed_port().await;
    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![email(addr)]), &message()).await;
    let (DeliveryOutcome::Failed { error }, attempts) = (&deliveries[0].outcome, &deliveries[0].attempts) else {
        panic!("{deliveries:?}")
    };
    assert_eq!(*attempts, 3);
    assert!(error.starts_with(&format!("SMTP server {addr}: ")), "{error}");
    assert!(error.to_ascii_lowercase().contains("refused"), "{error}");
}

#[tokio::test]
async fn email_rejected_recipient_is_not_retried() {
    let server = smtp_server(true).await;
    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![email(server.addr)]), &message()).await;
    let (DeliveryOutcome::Failed { error }, attempts) = (&deliveries[0].outcome, &deliveries[0].attempts) else {
        panic!("{deliveries:?}")
    };
    assert_eq!(*attempts, 1);
    assert!(error.contains("550"), "{error}");
    assert!(server.mails.lock().unwrap().is_empty());
    assert_eq!(server.connections.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn email_with_a_bad_address_fails_without_connecting() {
    let server = smtp_server(false).await;
    let notifier = Notifier::new(settings());
    let method =
        Method::Email { to: "not an address".into(), from: "wasmon@example.com".into(), smtp: server.addr.to_string() };
    let deliveries = notifier.deliver(&contact(vec![method]), &message()).await;
    let (DeliveryOutcome::Failed { error }, attempts) = (&deliveries[0].outcome, &deliveries[0].attempts) else {
        panic!("{deliveries:?}")
    };
    assert_eq!(*attempts, 0);
    assert!(error.contains("invalid recipient address 'not an address'"), "{error}");
    assert!(server.connections.lock().unwrap().is_empty());
}

#[tokio::test]
async fn methods_run_in_parallel_and_a_failing_one_blocks_none() {
    let dead = silent_receiver().await;
    let smtp = smtp_server(false).await;
    let notifier = Notifier::new(settings());
    // The dead webhook comes first: run one after the other, the mail would
    // wait for all its attempts.
    let contact = contact(vec![Method::Log, webhook(dead.addr), email(smtp.addr)]);
    let start = Instant::now();
    let deliveries = notifier.deliver(&contact, &message()).await;
    let elapsed = start.elapsed();

    let methods: Vec<&str> = deliveries.iter().map(|d| d.method.as_str()).collect();
    assert_eq!(methods, ["log", "webhook", "email"]);
    assert_eq!((&deliveries[0].outcome, deliveries[0].attempts), (&DeliveryOutcome::Delivered, 1));
    assert!(
        matches!((&deliveries[1].outcome, deliveries[1].attempts), (DeliveryOutcome::Failed { .. }, 3)),
        "{deliveries:?}"
    );
    assert_eq!((&deliveries[2].outcome, deliveries[2].attempts), (&DeliveryOutcome::Delivered, 1));
    assert_eq!(smtp.mails.lock().unwrap().len(), 1);

    // The mail went out while the webhook was still in its attempts.
    let webhook_connections = dead.connections.lock().unwrap().clone();
    let mail_connection = smtp.connections.lock().unwrap()[0];
    assert_eq!(webhook_connections.len(), 3);
    assert!(mail_connection < webhook_connections[2], "the mail waited for the webhook");
    // The whole took the webhook's budget, not the sum of all methods.
    assert!(elapsed <= settings().budget(TIMEOUT) + MARGIN, "{elapsed:?}");
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn log_method_writes_every_field() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let notifier = Notifier::new(settings());
    let deliveries = notifier.deliver(&contact(vec![Method::Log]), &message()).await;
    assert_eq!((&deliveries[0].outcome, deliveries[0].attempts), (&DeliveryOutcome::Delivered, 1));
    let recovery = NotificationMessage { kind: NotificationKind::Recovery, state: "OK".into(), ..message() };
    notifier.deliver(&contact(vec![Method::Log]), &recovery).await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains(" WARN ") && lines[0].contains("wasmon::notify"), "{}", lines[0]);
    for field in [
        "PROBLEM: web1/Lifecycle is CRITICAL",
        "kind=\"PROBLEM\"",
        "host=\"web1\"",
        "service=\"Lifecycle\"",
        "state=\"CRITICAL\"",
        "output=\"Disk usage: 97.0% (warn/crit at 80.0%/90.0%)\"",
        "long_output=\"/: 97.0%\\n/var: 12.0%\"",
        "time=1790000000",
        "attempt=3",
        "max_attempts=3",
        "contact=\"ops\"",
    ] {
        assert!(lines[0].contains(field), "{field} missing in {}", lines[0]);
    }
    assert!(lines[1].contains(" INFO ") && lines[1].contains("RECOVERY: web1/Lifecycle is OK"), "{}", lines[1]);
}

#[test]
fn subject_and_text() {
    let host = NotificationMessage { service: None, state: "DOWN".into(), contact: "ops".into(), ..message() };
    assert_eq!(host.subject(), "PROBLEM: web1 is DOWN");
    let text = host.text();
    assert!(text.starts_with("PROBLEM: web1 is DOWN\n\n"), "{text}");
    assert!(text.contains("Service:  -\n"), "{text}");
    assert!(text.contains("Time:     2026-09-21T14:13:20Z (1790000000)\n"), "{text}");
    assert!(text.ends_with("Long output:\n/: 97.0%\n/var: 12.0%\n"), "{text}");
    let recovery = NotificationMessage { kind: NotificationKind::Recovery, state: "OK".into(), ..message() };
    assert_eq!(recovery.subject(), "RECOVERY: web1/Lifecycle is OK");
}

#[test]
fn budget_adds_every_attempt_and_doubling_delay() {
    let s = NotifierSettings::default();
    assert_eq!(s.budget(Duration::from_secs(10)), Duration::from_secs(10 * 3 + 1 + 2));
    let none = NotifierSettings { retries: 0, ..s };
    assert_eq!(none.budget(Duration::from_secs(10)), Duration::from_secs(10));
}
