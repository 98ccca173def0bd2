//! Check packs end to end: the shipped `linux-basics` and `web-basics`
//! built from their source folders and installed, then a host with
//! `packs = [...]` and no services gets the pack's services, discovered
//! disks included, and they run through `simulate` and a `Monitor`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmon_runtime::config::{self, Config};
use wasmon_runtime::{Event, simulate};
use wasmon_runtime::{Monitor, Retention, pack};

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pack-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds the repository's pack `name` (as `wasmon pack build` does),
/// writes the pack file, reads it back and installs it under `packs`.
async fn install(name: &str, packs: &Path) -> pack::Manifest {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packs").join(name);
    let built = pack::build(&source, crate::sandbox()).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let file = packs.parent().unwrap().join(built.file_name());
    std::fs::write(&file, built.to_bytes().unwrap()).unwrap();
    let read = pack::read_file(&file, crate::sandbox()).await.unwrap();
    pack::install(&read, packs).unwrap();
    read.manifest
}

fn parse(dir: &Path, text: &str) -> Config {
    config::parse(text, &dir.join("wasmon.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// The last result of every service, by name.
fn last_results(events: &[Event]) -> std::collections::BTreeMap<String, (String, String)> {
    let mut out = std::collections::BTreeMap::new();
    for e in events {
        if let Event::Result(r) = e
            && let Some(s) = &r.service
        {
            out.insert(s.to_string(), (r.state.to_string(), r.output.clone()));
        }
    }
    out
}

/// The size ("90.87 GiB") the disk check reports for filesystem `item`,
/// run directly through the library.
async fn disk_size(item: &str) -> String {
    let disk = crate::sandbox().load_standard("disk").unwrap();
    let grants = wasmon_runtime::standard::find("disk").unwrap().grants();
    let call = wasmon_runtime::CheckCall { grants, item: Some(item.to_string()), ..Default::default() };
    let summary = disk.check(&call).await.outcome.summary;
    let size = summary.split_once(" of ").and_then(|(_, rest)| rest.split_once(',')).map(|(size, _)| size.to_string());
    size.unwrap_or_else(|| panic!("no size in the disk check's output for {item}: {summary:?}"))
}

/// What the disk check's discovery finds here, through the library.
async fn local_filesystems() -> Vec<String> {
    let disk = crate::sandbox().load_standard("disk").unwrap();
    let grants = wasmon_runtime::standard::find("disk").unwrap().grants();
    let call = wasmon_runtime::DiscoverCall { grants, ..Default::default() };
    disk.discover(&call).await.unwrap().into_iter().map(|i| i.name).collect()
}

#[tokio::test]
async fn a_host_with_linux_basics_gets_every_service_and_they_run() {
    let dir = scratch("linux");
    let packs = dir.join("packs");
    let manifest = install("linux-basics", &packs).await;
    assert_eq!(
        manifest.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["load", "memory", "disk", "uptime"]
    );

    // No services at all: the pack brings them.
    let config = parse(&dir, "[[host]]\nname = \"here\"\npacks = [\"linux-basics\"]\n");
    assert!(config.services.is_empty());
    let mut events = Vec::new();
    simulate(&config, crate::sandbox(), Duration::from_secs(1), |e| events.push(e.clone())).await.unwrap();
    let results = last_results(&events);
    println!("{results:#?}");

    let mounts: Vec<String> = local_filesystems()
        .await
        .into_iter()
        .filter(|m| {
            m.starts_with('/') && !m.starts_with("/snap/") && m != "/boot/efi" && !m.starts_with("/var/lib/docker/")
        })
        .collect();
    assert!(!mounts.is_empty(), "this machine has a local filesystem");
    let mut expected: Vec<String> = ["Load", "Memory", "Uptime"].iter().map(|s| s.to_string()).collect();
    expected.extend(mounts.iter().map(|m| format!("Disk {m}")));
    expected.sort();
    assert_eq!(results.keys().cloned().collect::<Vec<_>>(), expected);
    for (service, (state, output)) in &results {
        // Each ran its check for real: no bad parameters, no missing grants.
        assert_ne!(state, "UNKNOWN", "{service}: {output}");
    }
    assert!(results["Load"].1.contains("Load average per CPU: "), "the pack's percpu: {:?}", results["Load"]);
    assert!(results["Uptime"].1.contains("Up since boot: "), "{:?}", results["Uptime"]);
    // Each disk service looks at its own filesystem: the size it reports
    // is the one the disk check reports for that item run directly.
    for m in &mounts {
        let size = disk_size(m).await;
        let (_, output) = &results[&format!("Disk {m}")];
        assert!(output.contains(&format!(" of {size},")), "Disk {m}: {output:?}, expected a size of {size}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_host_overrides_the_pack_and_a_configured_service_replaces_one() {
    let dir = scratch("override");
    let packs = dir.join("packs");
    install("linux-basics", &packs).await;
    let text = r#"
[engine]
packs_dir = "packs"

[[host]]
name = "strict"
packs = ["linux-basics"]
# Every filesystem is CRIT (free space at or below 100%); the load is CRIT at any value.
pack_params = { "linux-basics" = { "Disk {item}" = { warning = "100%", critical = "100%" }, "Load" = { warning = "0", critical = "0" } } }

[[host]]
name = "plain"
packs = ["linux-basics"]

[[service]]
host = "plain"
name = "Memory"
check = "dummy"
params = { state = "WARNING", text = "Replaced by the configuration" }
"#;
    let config = parse(&dir, text);
    let mut events = Vec::new();
    simulate(&config, crate::sandbox(), Duration::from_secs(1), |e| events.push(e.clone())).await.unwrap();
    let of = |host: &str| {
        let mut out = std::collections::BTreeMap::new();
        for e in &events {
            if let Event::Result(r) = e
                && let Some(s) = &r.service
                && &*r.host == host
            {
                out.insert(s.to_string(), (r.state.to_string(), r.output.clone()));
            }
        }
        out
    };
    let (strict, plain) = (of("strict"), of("plain"));
    println!("strict: {strict:#?}\nplain: {plain:#?}");
    assert_eq!(strict["Load"].0, "CRITICAL", "{:?}", strict["Load"]);
    assert!(strict["Load"].1.contains("(warn/crit at 0.00/0.00)"), "{:?}", strict["Load"]);
    assert_ne!(plain["Load"].0, "UNKNOWN");
    let disks: Vec<_> = strict.iter().filter(|(s, _)| s.starts_with("Disk ")).collect();
    assert!(!disks.is_empty());
    assert!(disks.iter().any(|(_, (state, _))| state == "CRITICAL"), "{disks:?}");
    // The configured [[service]] wins over the pack's, once.
    assert_eq!(plain["Memory"].0, "WARNING");
    assert!(plain["Memory"].1.contains("Replaced by the configuration"), "{:?}", plain["Memory"]);
    assert!(strict["Memory"].1.contains("RAM"), "{:?}", strict["Memory"]);
    let memory_results = events
        .iter()
        .filter(|e| matches!(e, Event::Result(r) if &*r.host == "plain" && r.service.as_deref() == Some("Memory")))
        .count();
    assert_eq!(memory_results, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An HTTP server on loopback answering every request with 200 and a page.
fn web_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(200) {
            let mut buf = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut buf);
            let body = "<html>hello</html>";
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    port
}

#[tokio::test]
async fn web_basics_runs_in_a_monitor_against_a_local_server() {
    let dir = scratch("web");
    let packs = dir.join("packs");
    install("web-basics", &packs).await;
    let http = web_server();
    // The HTTPS port check points at a port that is closed for sure.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let text = format!(
        "[[host]]\nname = \"localhost\"\naddress = \"127.0.0.1\"\npacks = [\"web-basics\"]\n\
         pack_params = {{ \"web-basics\" = {{ \"HTTP\" = {{ port = {http} }}, \"HTTPS port\" = {{ port = {closed_port} }} }} }}\n"
    );
    let config = parse(&dir, &text);
    let monitor = Monitor::builder()
        .config(config)
        .sandbox(crate::sandbox().clone())
        .retention(Retention::None)
        .start()
        .await
        .unwrap();
    let statuses = monitor.statuses().await.unwrap();
    let names: Vec<_> = statuses.iter().filter_map(|s| s.service.clone()).collect();
    assert_eq!(names, ["HTTP", "HTTPS port", "DNS"]);
    let state = |e: &Event| match e {
        Event::Result(r) => (r.state.to_string(), r.output.clone()),
        other => panic!("not a result: {other:?}"),
    };
    let (s, out) = state(&monitor.run_now("localhost", Some("HTTP")).await.unwrap());
    assert_eq!(s, "OK", "{out}");
    assert!(out.starts_with("Status: 200 OK"), "{out}");
    let (s, out) = state(&monitor.run_now("localhost", Some("HTTPS port")).await.unwrap());
    assert_eq!(s, "CRITICAL", "{out}");
    // "localhost" resolves through the name lookups the pack grants `dns`.
    let (s, out) = state(&monitor.run_now("localhost", Some("DNS")).await.unwrap());
    assert_eq!(s, "OK", "{out}");
    monitor.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn failed_discovery_is_an_unknown_service_not_a_silent_gap() {
    let dir = scratch("discovery");
    let packs = dir.join("packs");
    install("linux-basics", &packs).await;
    // Break the installed disk component after installation.
    std::fs::write(packs.join("linux-basics/checks/disk.wasm"), b"\0asm\x0d\x00\x01\x00broken").unwrap();
    let mut config = parse(&dir, "[[host]]\nname = \"here\"\npacks = [\"linux-basics\"]\n");
    pack::expand(&mut config, crate::sandbox()).await.unwrap();
    let names: Vec<_> = config.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Load", "Memory", "Disk discovery", "Uptime"]);
    assert!(config.hosts[0].packs.is_empty(), "expanded once");
    let mut events = Vec::new();
    simulate(&config, crate::sandbox(), Duration::from_secs(1), |e| events.push(e.clone())).await.unwrap();
    let results = last_results(&events);
    let (state, output) = &results["Disk discovery"];
    assert_eq!(state, "UNKNOWN");
    assert!(output.contains("Discovery of \"Disk {item}\" (pack linux-basics) failed: "), "{output}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A pack source folder `probe-pack` at `version` whose one check is the
/// component `wasm`, run every second by the service "Probe".
fn probe_pack(dir: &Path, version: &str, wasm: &[u8]) -> PathBuf {
    let source = dir.join(format!("probe-pack-{version}"));
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("probe.wasm"), wasm).unwrap();
    std::fs::write(
        source.join("pack.toml"),
        format!(
            "name = \"probe-pack\"\nversion = \"{version}\"\ndescription = \"One probe, for the hot-loading test.\"\n\n\
             [[check]]\nname = \"probe\"\ncomponent = \"probe.wasm\"\n\n\
             [[service]]\nname = \"Probe\"\ncheck = \"probe\"\nparams = {{ text = \"fine\" }}\n\
             check_interval = \"1s\"\nretry_interval = \"1s\"\n"
        ),
    )
    .unwrap();
    source
}

/// `wasmon pack install` of a new version under a running monitor: the
/// hot-loading watcher sees the pack's component replaced, and the pack's
/// service runs the new version with no restart and no failed run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installing_a_new_pack_version_under_a_running_monitor_hot_loads_it() {
    let dir = scratch("hotload");
    let packs = dir.join("packs");
    let v1 = wasmon_runtime::standard::find("dummy").unwrap().wasm;
    let built = pack::build(&probe_pack(&dir, "1.0.0", v1), crate::sandbox()).await.unwrap_or_else(|e| panic!("{e}"));
    pack::install(&built, &packs).unwrap();
    let config = parse(&dir, "[[host]]\nname = \"here\"\naddress = \"127.0.0.1\"\npacks = [\"probe-pack\"]\n");
    let monitor = Monitor::builder()
        .config(config)
        .sandbox(crate::sandbox().clone())
        .retention(Retention::None)
        .start()
        .await
        .unwrap();
    let mut events = monitor.subscribe();
    let mut outputs = Vec::new();
    let mut next = async || loop {
        match tokio::time::timeout(Duration::from_secs(20), events.recv()).await.expect("an event in 20 s").unwrap() {
            Event::Result(r) if r.service.as_deref() == Some("Probe") => break (r.state.to_string(), r.output.clone()),
            _ => {}
        }
    };
    outputs.push(next().await);
    assert_eq!(outputs[0], ("OK".to_string(), "fine".to_string()));

    let v2 = std::fs::read(wasmon_tests::HOTLOAD_V2).unwrap();
    let built = pack::build(&probe_pack(&dir, "2.0.0", &v2), crate::sandbox()).await.unwrap();
    pack::install(&built, &packs).unwrap();
    loop {
        let (state, output) = next().await;
        // Every run is the old version's or the new one's, none failed.
        assert!(state == "OK" && (output == "fine" || output == "Version 2: fine"), "{state} {output}");
        if output == "Version 2: fine" {
            break;
        }
        outputs.push((state, output));
        assert!(outputs.len() < 15, "the new version never ran: {outputs:?}");
    }
    let modules = monitor.modules().await.unwrap();
    let probe =
        modules.iter().find(|m| m.path.as_ref().is_some_and(|p| p.starts_with(&packs))).expect("the pack's module");
    assert_eq!(probe.version.as_deref(), Some("2.0.0"));
    monitor.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
