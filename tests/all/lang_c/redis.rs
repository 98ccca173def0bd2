//! The `redis` check against a fake Redis: through the library, the CLI
//! and `wasmon simulate`.

use super::*;

// ---------------------------------------------------------------------
// A fake Redis
// ---------------------------------------------------------------------

/// What the fake Redis does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Redis {
    /// Answers PING with +PONG and INFO with [`INFO`].
    Open,
    /// Wants `AUTH s3cret` first: PING before it is NOAUTH.
    Password,
    /// Reads commands and never answers.
    Silent,
    /// Answers everything with an SSH banner.
    Banner,
    /// Answers PING, but INFO is an unknown (renamed) command.
    NoInfo,
}

/// The INFO payload of the fake server.
const INFO: &str = "# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\nuptime_in_seconds:3725\r\n\r\n\
                    # Clients\r\nconnected_clients:42\r\nblocked_clients:0\r\n\r\n\
                    # Memory\r\nused_memory:1572864\r\nused_memory_human:1.50M\r\nmaxmemory:4194304\r\n\r\n\
                    # Replication\r\nrole:master\r\nconnected_slaves:0\r\n";

/// The port of a fake Redis in `mode` on 127.0.0.1, one per mode for the
/// whole test binary.
pub(super) fn redis(mode: Redis) -> u16 {
    static SERVERS: OnceLock<std::sync::Mutex<std::collections::HashMap<Redis, u16>>> = OnceLock::new();
    let servers = SERVERS.get_or_init(Default::default);
    let mut servers = servers.lock().unwrap();
    *servers.entry(mode).or_insert_with(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                std::thread::spawn(move || serve(conn, mode));
            }
        });
        port
    })
}

/// Reads one command: a RESP array of bulk strings, or an inline command.
fn read_command(reader: &mut impl BufRead) -> Option<Vec<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let Some(count) = line.strip_prefix('*') else {
        return Some(line.split_whitespace().map(String::from).collect());
    };
    let count: usize = count.trim().parse().ok()?;
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        let mut head = String::new();
        reader.read_line(&mut head).ok()?;
        let len: usize = head.trim().strip_prefix('$')?.parse().ok()?;
        let mut arg = vec![0; len + 2];
        reader.read_exact(&mut arg).ok()?;
        arg.truncate(len);
        args.push(String::from_utf8(arg).ok()?);
    }
    Some(args)
}

fn serve(mut conn: TcpStream, mode: Redis) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut authenticated = mode != Redis::Password;
    while let Some(args) = read_command(&mut reader) {
        let command = args.first().map(|c| c.to_ascii_uppercase()).unwrap_or_default();
        let reply = match (mode, command.as_str()) {
            (Redis::Silent, _) => continue,
            (Redis::Banner, _) => "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_string(),
            (Redis::Password, "AUTH") if args.get(1).is_some_and(|p| p == "s3cret") => {
                authenticated = true;
                "+OK\r\n".to_string()
            }
            (Redis::Password, "AUTH") => {
                "-WRONGPASS invalid username-password pair or user is disabled.\r\n".to_string()
            }
            (_, "AUTH") => {
                "-ERR AUTH <password> called without any password configured for the default user.\r\n".to_string()
            }
            _ if !authenticated => "-NOAUTH Authentication required.\r\n".to_string(),
            (_, "PING") => "+PONG\r\n".to_string(),
            (Redis::NoInfo, "INFO") => "-ERR unknown command 'INFO'\r\n".to_string(),
            (_, "INFO") => format!("${}\r\n{INFO}\r\n", INFO.len()),
            _ => format!("-ERR unknown command '{command}'\r\n"),
        };
        if conn.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------
// The redis check through the library
// ---------------------------------------------------------------------

#[tokio::test]
async fn c_redis_describes_itself_by_the_contract() {
    let Some(wasm) = c_build("redis.wasm") else { return };
    let info = sandbox().load_file(&wasm).unwrap().describe().await.unwrap();
    assert_eq!((info.name.as_str(), info.version.as_str()), ("redis", "0.1.0"));
    assert_eq!(info.title, "Redis: Server availability, clients and memory");
    let breaches = verify_info(&info);
    assert!(breaches.is_empty(), "{breaches:?}");
    let names: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "port",
            "password",
            "info",
            "warning",
            "critical",
            "clients_warning",
            "clients_critical",
            "memory_warning",
            "memory_critical",
            "timeout"
        ]
    );
    let default = |name: &str| info.params.iter().find(|p| p.name == name).unwrap().default.clone();
    assert_eq!(default("port").as_deref(), Some("6379"));
    assert_eq!(default("info").as_deref(), Some("yes"));
    assert_eq!(default("timeout").as_deref(), Some("10s"));
    assert_eq!(default("warning"), None);
    assert!(info.params.iter().all(|p| !p.description.is_empty()));
    assert!(info.params.iter().filter(|p| p.default.is_some()).all(|p| p.default_source.is_some()));
}

#[tokio::test]
async fn c_redis_through_the_library() {
    let Some(wasm) = c_build("redis.wasm") else { return };
    let module = sandbox().load_file(&wasm).unwrap();
    let port = redis(Redis::Open).to_string();
    let endpoint = format!("127.0.0.1:{port}");

    let o = run(&module, &[("port", &port)], Grants::default()).await;
    assert_eq!((o.state, o.termination.clone()), (State::Ok, Termination::Completed), "{}", o.summary);
    assert!(o.summary.starts_with(&format!("PONG received from {endpoint}, Response time: ")), "{}", o.summary);
    assert!(o.summary.ends_with(", Version: 7.2.4, Clients: 42, Memory used: 1.50 MiB"), "{}", o.summary);
    assert_eq!(
        o.long_output.as_deref(),
        Some("Role: master\nMode: standalone\nUptime: 1 h 2 min\nMaximum memory: 4.00 MiB")
    );
    let time = metric(&o, "response_time");
    assert!(time.value > 0.0 && time.value < 9.0, "{time:?}");
    assert_eq!((time.uom.as_str(), time.min, time.max, time.warn), ("s", Some(0.0), Some(9.0), None));
    let clients = metric(&o, "connected_clients");
    assert_eq!((clients.value, clients.uom.as_str(), clients.min, clients.max), (42.0, "", Some(0.0), None));
    let memory = metric(&o, "used_memory");
    assert_eq!((memory.value, memory.uom.as_str(), memory.max), (1_572_864.0, "B", Some(4_194_304.0)));

    // Levels: clients at or above 40 warn; memory at 1.5 MiB is at the critical level.
    let p = [
        ("port", port.as_str()),
        ("clients_warning", "40"),
        ("clients_critical", "100"),
        ("memory_warning", "1MiB"),
        ("memory_critical", "1.5 MiB"),
        ("warning", "5"),
        ("critical", "8"),
    ];
    let o = run(&module, &p, Grants::default()).await;
    assert_eq!(o.state, State::Critical, "{}", o.summary);
    // The host marks each partial that is not OK: (!) WARN, (!!) CRIT, (?) UNKNOWN.
    assert!(o.summary.contains(", Clients: 42 (warn/crit at 40/100)(!), "), "{}", o.summary);
    assert!(o.summary.ends_with(", Memory used: 1.50 MiB (warn/crit at 1.00 MiB/1.50 MiB)(!!)"), "{}", o.summary);
    assert_eq!(
        (metric(&o, "connected_clients").warn, metric(&o, "connected_clients").crit),
        (range(Some(0.0), Some(40.0)), range(Some(0.0), Some(100.0)))
    );
    assert_eq!(metric(&o, "used_memory").crit, range(Some(0.0), Some(1_572_864.0)));
    assert_eq!(metric(&o, "response_time").warn, range(Some(0.0), Some(5.0)));
    let p = [("port", port.as_str()), ("clients_warning", "43"), ("clients_critical", "100")];
    assert_eq!(run(&module, &p, Grants::default()).await.state, State::Ok);

    // Without INFO: PONG and the response time only.
    let o = run(&module, &[("port", &port), ("info", "no")], Grants::default()).await;
    assert_eq!(o.state, State::Ok);
    assert!(!o.summary.contains("Version"), "{}", o.summary);
    assert_eq!(o.metrics.len(), 1, "{:?}", o.metrics);

    // Authentication.
    let locked = redis(Redis::Password).to_string();
    let o = run(&module, &[("port", &locked)], Grants::default()).await;
    assert_eq!(o.state, State::Critical);
    assert!(
        o.summary.starts_with(
            "PING failed: NOAUTH Authentication required. (set the 'password' parameter)(!!), Response time: "
        ),
        "{}",
        o.summary
    );
    let o = run(&module, &[("port", &locked), ("password", "s3cret")], Grants::default()).await;
    assert_eq!(o.state, State::Ok, "{}", o.summary);
    assert!(o.summary.contains("Clients: 42"), "{}", o.summary);
    let o = run(&module, &[("port", &locked), ("password", "guess")], Grants::default()).await;
    assert_eq!(
        (o.state, o.summary.as_str()),
        (State::Critical, "Authentication failed: WRONGPASS invalid username-password pair or user is disabled.")
    );

    // Another service on the port, INFO disabled, refused, silent.
    let banner = redis(Redis::Banner).to_string();
    let o = run(&module, &[("port", &banner)], Grants::default()).await;
    assert_eq!(o.state, State::Critical);
    assert!(
        o.summary.starts_with("Unexpected reply to PING: SSH-2.0-OpenSSH_9.2p1 Debian-2(!!), Response time: "),
        "{}",
        o.summary
    );
    let renamed = redis(Redis::NoInfo).to_string();
    let o = run(&module, &[("port", &renamed)], Grants::default()).await;
    assert_eq!(o.state, State::Unknown, "{}", o.summary);
    assert!(
        o.summary.ends_with(", INFO failed: ERR unknown command 'INFO' (set info=no to skip it)(?)"),
        "{}",
        o.summary
    );
    assert_eq!(run(&module, &[("port", &renamed), ("info", "off")], Grants::default()).await.state, State::Ok);
    let closed = closed_port().to_string();
    let o = run(&module, &[("port", &closed)], Grants::default()).await;
    assert_eq!(
        (o.state, o.summary.clone()),
        (State::Critical, format!("Connect to 127.0.0.1:{closed}: Connection refused"))
    );
    let silent = redis(Redis::Silent).to_string();
    let started = Instant::now();
    let o = run(&module, &[("port", &silent), ("timeout", "1")], Grants::default()).await;
    assert_eq!((o.state, o.summary.as_str()), (State::Critical, "Socket timeout after 1 seconds"));
    assert!(started.elapsed() < Duration::from_secs(5), "the check's own timeout, not the host's");

    // IPv6: the same conversation with [::1], where the machine has it.
    if let Ok(listener) = TcpListener::bind("[::1]:0") {
        let port6 = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                std::thread::spawn(move || serve(conn, Redis::Open));
            }
        });
        let call = CheckCall {
            target: Target::new("::1", Some("::1".parse().unwrap())),
            params: vec![("port".into(), port6.to_string())],
            ..CheckCall::default()
        };
        let o = show(module.check(&call).await).outcome;
        assert_eq!(o.state, State::Ok, "{}", o.summary);
        assert!(o.summary.starts_with(&format!("PONG received from [::1]:{port6}, Response time: ")), "{}", o.summary);
    }

    // The sandbox refuses a target that is not granted.
    let no_target = Grants { target: false, ..Grants::default() };
    let o = run(&module, &[("port", &port)], no_target).await;
    assert_eq!(
        (o.state, o.summary.clone()),
        (State::Critical, format!("Connect to {endpoint}: Not allowed by the sandbox policy"))
    );
}

#[tokio::test]
async fn c_redis_names_the_bad_parameter() {
    let Some(wasm) = c_build("redis.wasm") else { return };
    let module = sandbox().load_file(&wasm).unwrap();
    for (params, message) in [
        (&[("port", "0")][..], "parameter 'port': expected an integer from 1 to 65535, got '0'"),
        (
            &[("prot", "6379")],
            "unknown parameter 'prot' (this check understands: port, password, info, warning, critical, clients_warning, clients_critical, memory_warning, memory_critical, timeout)",
        ),
        (&[("info", "perhaps")], "parameter 'info': expected true or false (also yes/no, on/off, 1/0), got 'perhaps'"),
        (
            &[("clients_warning", "10")],
            "parameter 'clients_warning' is given without 'clients_critical': give both or neither",
        ),
        (
            &[("memory_warning", "lots"), ("memory_critical", "2GiB")],
            "parameter 'memory_warning': expected a size such as 500MiB or 10GiB (units B, KiB, MiB, GiB, TiB), got 'lots'",
        ),
        (
            &[("info", "no"), ("memory_warning", "1GiB"), ("memory_critical", "2GiB")],
            "parameter 'memory_warning': needs info=yes: the value comes from INFO",
        ),
        (&[("warning", "fast"), ("critical", "1")], "parameter 'warning': expected a number, got 'fast'"),
        (&[("timeout", "0")], "parameter 'timeout': expected a duration of more than 0 seconds, got '0'"),
        (&[("password", "")], "parameter 'password': the password is empty"),
    ] {
        let o = run(&module, params, Grants::default()).await;
        assert_eq!(
            (o.state, o.termination.clone(), o.summary.as_str()),
            (State::Unknown, Termination::BadParams, message),
            "{params:?}"
        );
    }
    // No address to connect to: the check failed, not its parameters.
    let call = CheckCall { target: Target::default(), ..CheckCall::default() };
    let o = show(module.check(&call).await).outcome;
    assert_eq!((o.state, o.termination), (State::Unknown, Termination::Failed));
    assert_eq!(o.summary, "No target host: the redis check needs the address of the host to connect to");
}

#[test]
fn c_redis_through_the_cli() {
    let (Some(wasm), Some(bin)) = (c_build("redis.wasm"), wasmon_bin()) else { return };
    let cache = cli_cache(&bin, &wasm);
    let port = format!("port={}", redis(Redis::Open));
    let run = |extra: &[&str]| {
        let mut args = vec!["-H", "127.0.0.1", "-p", port.as_str()];
        for e in extra {
            args.extend(["-p", e]);
        }
        cli(&bin, cache, &wasm, &args)
    };

    let (code, out) = run(&["clients_warning=40", "clients_critical=100"]);
    assert_eq!(code, 1, "{out}");
    let mut lines = out.lines();
    let (first, perf) = lines.next().unwrap().split_once(" | ").expect("perfdata");
    assert!(first.starts_with("WARNING - PONG received from 127.0.0.1:"), "{first}");
    assert!(
        first.ends_with(", Version: 7.2.4, Clients: 42 (warn/crit at 40/100)(!), Memory used: 1.50 MiB"),
        "{first}"
    );
    let perf: Vec<&str> = perf.split(' ').collect();
    assert_eq!(perf.len(), 3, "{perf:?}");
    assert!(perf[0].starts_with("response_time=") && perf[0].ends_with("s;;;0;9"), "{perf:?}");
    assert_eq!(perf[1..], ["connected_clients=42;40;100;0", "used_memory=1572864B;;;0;4194304"]);
    assert_eq!(
        lines.collect::<Vec<_>>(),
        ["Role: master", "Mode: standalone", "Uptime: 1 h 2 min", "Maximum memory: 4.00 MiB"]
    );

    let (code, out) = run(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK - PONG received from 127.0.0.1:"), "{out}");
    let (code, out) = run(&["memory_warning=1MiB", "memory_critical=1GiB", "info=yes"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("used_memory=1572864B;1048576;1073741824;0;4194304"), "{out}");

    let closed = closed_port();
    let (code, out) = cli(&bin, cache, &wasm, &["-H", "127.0.0.1", "-p", &format!("port={closed}")]);
    assert_eq!(
        (code, out.trim_end()),
        (2, format!("CRITICAL - Connect to 127.0.0.1:{closed}: Connection refused").as_str())
    );
    let started = Instant::now();
    let silent = format!("port={}", redis(Redis::Silent));
    let (code, out) = cli(&bin, cache, &wasm, &["-H", "127.0.0.1", "-p", &silent, "-p", "timeout=1"]);
    assert_eq!((code, out.trim_end()), (2, "CRITICAL - Socket timeout after 1 seconds"));
    assert!(started.elapsed() < Duration::from_secs(8), "the check's own timeout, not the host's");
    // The host's wall time bounds the check's own timeout (90% of -t 2s).
    let (code, out) = cli(&bin, cache, &wasm, &["-H", "127.0.0.1", "-p", &silent, "-t", "2s"]);
    assert_eq!((code, out.trim_end()), (2, "CRITICAL - Socket timeout after 1.8 seconds"));

    let (code, out) = run(&["port=redis"]);
    assert_eq!(
        (code, out.trim_end()),
        (3, "UNKNOWN - parameter 'port': expected an integer from 1 to 65535, got 'redis'")
    );

    let (code, out) = cli(&bin, cache, &wasm, &["-H", "127.0.0.1", "-p", &port, "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["state"], "OK");
    let clients = json["metrics"].as_array().unwrap().iter().find(|m| m["label"] == "connected_clients").unwrap();
    assert_eq!((clients["value"].as_f64(), &clients["warn"]), (Some(42.0), &serde_json::Value::Null));
}

#[test]
fn c_redis_through_simulate() {
    let (Some(wasm), Some(bin)) = (c_build("redis.wasm"), wasmon_bin()) else { return };
    let cache = cli_cache(&bin, &wasm);
    let (open, closed) = (redis(Redis::Open), closed_port());
    let dir = scratch("simulate");
    let config = dir.join("redis.toml");
    let module = wasm.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    std::fs::write(
        &config,
        format!(
            r#"[engine]
state_file = ":memory:"

[defaults]
check_interval = "1m"
retry_interval = "20s"
max_check_attempts = 2

[[host]]
name = "cache1"
address = "127.0.0.1"

[[service]]
host = "cache1"
name = "Redis"
check = "{module}"
params = {{ port = {open} }}

[[service]]
host = "cache1"
name = "Redis clients"
check = "{module}"
params = {{ port = {open}, clients_warning = 40, clients_critical = 100 }}

[[service]]
host = "cache1"
name = "Redis down"
check = "{module}"
params = {{ port = {closed} }}
"#
        ),
    )
    .unwrap();
    let out = Command::new(&bin)
        .args(["simulate", "--duration", "110s", "--cache-dir"])
        .arg(cache)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
    let events: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let results = |service: &str| -> Vec<(f64, String, String, String)> {
        events
            .iter()
            .filter(|e| e["kind"] == "result" && e["service"] == service)
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (e["t"].as_f64().unwrap(), s("state"), s("state_type"), s("output"))
            })
            .collect()
    };

    let healthy = results("Redis");
    assert_eq!(healthy.iter().map(|r| (r.0, r.1.as_str())).collect::<Vec<_>>(), [(0.0, "OK"), (60.0, "OK")]);
    assert!(healthy[0].3.starts_with(&format!("PONG received from 127.0.0.1:{open}, Response time: ")), "{healthy:?}");

    let busy = results("Redis clients");
    let states: Vec<(f64, &str, &str)> = busy.iter().map(|(t, s, ty, _)| (*t, s.as_str(), ty.as_str())).collect();
    assert_eq!(states, [(0.0, "WARNING", "SOFT"), (20.0, "WARNING", "HARD"), (80.0, "WARNING", "HARD")]);
    assert!(busy.iter().all(|r| r.3.contains("Clients: 42 (warn/crit at 40/100)(!)")), "{busy:?}");

    let down = results("Redis down");
    assert_eq!(
        down.iter().map(|r| (r.1.as_str(), r.2.as_str())).collect::<Vec<_>>(),
        [("CRITICAL", "SOFT"), ("CRITICAL", "HARD"), ("CRITICAL", "HARD")]
    );
    assert!(down[0].3.starts_with(&format!("Connect to 127.0.0.1:{closed}: Connection refused")), "{down:?}");

    let problems: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["kind"] == "notification")
        .map(|e| (e["service"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.contains(&("Redis clients", "WARNING")) && problems.contains(&("Redis down", "CRITICAL")),
        "{problems:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
