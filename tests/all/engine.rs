//! The engine through the sandbox: checks reach their configured address,
//! and an embedder's subscriber under load (retention's flush is a unit
//! test in `runtime/src/engine/tests/flush.rs`). Seed 002's
//! lifecycle table and its Nagios variant are cases in `tests/cases/`.

use std::path::PathBuf;
use std::time::Duration;

use wasmon_runtime::config::{CheckSpec, Config, Host, Schedule, Service};
use wasmon_runtime::{Event, simulate};

async fn events(config: &Config, duration: Duration) -> Vec<Event> {
    let mut events = Vec::new();
    simulate(config, crate::sandbox(), duration, |e| events.push(e.clone())).await.unwrap();
    events
}

/// A host's name is not looked up again by checks: an HTTP request to the
/// target by its name goes to the configured address (`api1` resolves
/// nowhere), with the name in the `Host` header.
#[tokio::test]
async fn http_to_the_target_name_goes_to_its_configured_address() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").unwrap();
        String::from_utf8_lossy(&request).to_string()
    });
    let text = format!(
        "[[host]]\nname = \"api1\"\naddress = \"127.0.0.1\"\n\n[[service]]\nhost = \"api1\"\nname = \"HTTP\"\ncheck = \"http\"\nparams = {{ port = {port} }}\n"
    );
    let config = wasmon_runtime::config::parse(&text, std::path::Path::new("api1.toml")).unwrap();
    let events = events(&config, Duration::from_secs(1)).await;
    let Event::Result(r) = &events[0] else { panic!("{events:?}") };
    let (state, output) = (&r.state, &r.output);
    assert_eq!(state, "OK", "{output}");
    let request = server.join().unwrap().to_ascii_lowercase();
    assert!(request.contains(&format!("host: api1:{port}")), "{request}");
}

/// An embedder's subscriber ([`MonitorBuilder::subscriber`]) gets every
/// event, in order, none missed, with checks demanded at 100,000 per second
/// (20,000 services every 200 ms): as many result events as the monitor
/// counted executions, each object's results in time order, and the
/// results' times never going back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedders_subscriber_gets_every_event_in_order_at_100k_checks_a_second() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use wasmon_runtime::{Monitor, Retention, Subscriber};

    #[derive(Default)]
    struct Seen {
        results: u64,
        last_t: f64,
        out_of_order: u64,
        per_object: HashMap<String, f64>,
        calls: u64,
    }
    struct Recorder(Arc<Mutex<Seen>>);
    impl Subscriber for Recorder {
        fn events(&mut self, step: &[Event]) {
            let mut seen = self.0.lock().unwrap();
            seen.calls += 1;
            for e in step {
                if let Event::Result(r) = e {
                    seen.results += 1;
                    if r.t < seen.last_t {
                        seen.out_of_order += 1;
                    }
                    seen.last_t = r.t;
                    let before = seen.per_object.insert(r.object(), r.t).unwrap_or(0.0);
                    if r.t < before {
                        seen.out_of_order += 1;
                    }
                }
            }
        }
    }

    let schedule = Schedule {
        check_interval: Duration::from_millis(200),
        retry_interval: Duration::from_millis(200),
        max_check_attempts: 3,
    };
    let services = (0..20_000)
        .map(|i| Service {
            host: "h".into(),
            name: format!("S{i}"),
            check: CheckSpec { module: "dummy".into(), ..CheckSpec::default() },
            schedule,
            ..Service::default()
        })
        .collect();
    let config = Config {
        path: PathBuf::from("subscriber.toml"),
        hosts: vec![Host { name: "h".into(), ..Host::default() }],
        services,
        ..Config::default()
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let monitor = Monitor::builder()
        .config(config)
        .sandbox(crate::sandbox().clone())
        .retention(Retention::None)
        .watch_modules(false)
        // A small queue: the engine has to wait for the subscriber at times.
        .subscriber(Recorder(seen.clone()), 4)
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    monitor.stop().await.unwrap();
    let executions = monitor.stats().executions();
    let seen = seen.lock().unwrap();
    assert!(executions > 1_000, "the engine ran {executions} checks");
    assert_eq!(seen.results, executions, "every result event reached the subscriber");
    assert_eq!(seen.out_of_order, 0, "in order");
    assert!(seen.per_object.len() > 1_000, "{} objects", seen.per_object.len());
}

/// The notification number survives a restart, as Nagios' retention keeps
/// `current_notification_number`: an escalation from the third
/// notification still takes the third one after two went out before the
/// restart.
#[tokio::test]
async fn escalations_count_notifications_across_a_restart() {
    use std::sync::Arc;
    use wasmon_runtime::clock::SimClock;
    use wasmon_runtime::{Monitor, Retention, State, Submission};
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("escalation-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = "[[contact]]\nname = \"ops\"\nmethods = [{ type = \"log\" }]\n\n\
        [[contact]]\nname = \"boss\"\nmethods = [{ type = \"log\" }]\n\n\
        [[host]]\nname = \"web1\"\naddress = \"127.0.0.1\"\n\n\
        [[service]]\nhost = \"web1\"\nname = \"Backup\"\nactive_checks = false\nmax_check_attempts = 1\n\
        notification_interval = \"10m\"\ncontacts = [\"ops\"]\n\n\
        [[escalation]]\nhost = \"web1\"\nservice = \"Backup\"\nfirst_notification = 3\ncontacts = [\"boss\"]\n";
    let path = dir.join("wasmon.toml");
    std::fs::write(&path, text).unwrap();
    let state_file = dir.join("state.db");
    let start = |clock: Arc<SimClock>| {
        let (path, state_file) = (path.clone(), state_file.clone());
        async move {
            Monitor::builder()
                .config_file(&path)
                .unwrap()
                .sandbox(crate::sandbox().clone())
                .clock(clock)
                .retention(Retention::File(state_file))
                .start()
                .await
                .unwrap()
        }
    };
    // Waits for the next notification event: (time, contact).
    async fn next(events: &mut tokio::sync::broadcast::Receiver<Event>) -> (f64, String) {
        loop {
            let e = tokio::time::timeout(Duration::from_secs(20), events.recv()).await.expect("a notification");
            if let Ok(Event::Notification(n)) = e {
                return (n.t, n.contact.clone().unwrap_or_default());
            }
        }
    }

    let clock = Arc::new(SimClock::new());
    let monitor = start(clock.clone()).await;
    let mut events = monitor.subscribe();
    let critical = Submission {
        host: "web1".into(),
        service: Some("Backup".into()),
        state: State::Critical,
        output: "CRITICAL - no backup".into(),
        long_output: None,
        metrics: Vec::new(),
        perfdata_errors: Vec::new(),
    };
    // Problem notifications go out as results come in (passive ones here),
    // every notification_interval.
    monitor.submit(critical.clone()).await.unwrap();
    assert_eq!(next(&mut events).await, (0.0, "ops".to_string()), "#1");
    clock.advance_to(Duration::from_secs(600));
    monitor.submit(critical.clone()).await.unwrap();
    assert_eq!(next(&mut events).await, (600.0, "ops".to_string()), "#2");
    monitor.stop().await.unwrap();

    // A new process on the same state file, its clock where the old one was.
    let clock = Arc::new(SimClock::new());
    clock.advance_to(Duration::from_secs(601));
    let monitor = start(clock.clone()).await;
    let mut events = monitor.subscribe();
    clock.advance_to(Duration::from_secs(1200));
    monitor.submit(critical).await.unwrap();
    assert_eq!(next(&mut events).await, (1200.0, "boss".to_string()), "#3 is escalated, after the restart too");
    monitor.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
