//! Hot-loading: check modules replaced, refused, removed and put back
//! under a running [`Monitor`] while its services run every second.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmon_runtime::Event;
use wasmon_runtime::{ModuleAction, ModuleKind, Monitor, Retention};
use wasmon_tests as guests;

/// Three services on one module file, checked every second.
const SERVICES: [&str; 3] = ["S1", "S2", "S3"];

/// A fresh folder with a `checks` folder holding `probe.wasm` (the
/// standard `dummy`) and a configuration whose services use it.
fn setup(name: &str) -> (PathBuf, PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("hotload-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("checks")).unwrap();
    let probe = dir.join("checks/probe.wasm");
    std::fs::write(&probe, dummy()).unwrap();
    let mut config = String::from(
        "[defaults]\ncheck_interval = \"1s\"\nretry_interval = \"1s\"\nmax_check_attempts = 2\n\n[[host]]\nname = \"h\"\n",
    );
    for s in SERVICES {
        config.push_str(&format!(
            "\n[[service]]\nhost = \"h\"\nname = \"{s}\"\ncheck = \"checks/probe.wasm\"\nparams = {{ text = \"ok\" }}\n"
        ));
    }
    (dir, probe, config)
}

fn dummy() -> &'static [u8] {
    wasmon_runtime::standard::find("dummy").unwrap().wasm
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Writes `bytes` to a temporary file beside `path` and renames it over
/// `path`, as installers do.
fn write_and_rename(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("wasm.tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Every event the monitor publishes, collected in the background.
fn collect(monitor: &Monitor) -> Arc<Mutex<Vec<Event>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut rx = monitor.subscribe();
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Ok(event) = rx.recv().await {
            sink.lock().unwrap().push(event);
        }
    });
    seen
}

/// Waits until `done` holds for the events seen, at most `limit`.
async fn wait_until(what: &str, limit: Duration, events: &Mutex<Vec<Event>>, done: impl Fn(&[Event]) -> bool) {
    let start = std::time::Instant::now();
    loop {
        if done(&events.lock().unwrap()) {
            return;
        }
        if start.elapsed() > limit {
            let seen = events.lock().unwrap();
            let tail: Vec<String> = seen.iter().rev().take(30).map(|e| format!("{e:?}")).collect();
            panic!("timed out waiting for {what}; last events (newest first):\n{}", tail.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The (service, state, output) of every result.
fn results(events: &[Event]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Result(r) if r.service.is_some() => {
                Some((r.service.as_deref().unwrap_or_default().to_string(), r.state.to_string(), r.output.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The module events as (action, reason).
fn module_events(events: &[Event]) -> Vec<(ModuleAction, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Module { action, reason, .. } => Some((*action, reason.clone())),
            _ => None,
        })
        .collect()
}

/// Whether every service has a result with `output` among results `from..`.
fn each_service_said(events: &[Event], from: usize, output: &str) -> bool {
    let r = results(events);
    SERVICES.iter().all(|s| r.iter().skip(from).any(|(service, _, o)| service == s && o == output))
}

fn result_count(events: &Mutex<Vec<Event>>) -> usize {
    results(&events.lock().unwrap()).len()
}

/// The whole life of a module under a running monitor: replaced (a
/// half-written file first, then the complete one), refused three ways
/// with the old version staying in service, removed (services UNKNOWN
/// naming it) and put back. No run is lost or fails along the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_is_replaced_refused_removed_and_put_back_while_its_services_run() {
    let (dir, probe, config) = setup("life");
    let monitor = Monitor::builder()
        .config_str(&config, &dir.join("wasmon.toml"))
        .unwrap()
        .sandbox(crate::sandbox().clone())
        .retention(Retention::None)
        .start()
        .await
        .unwrap();
    let events = collect(&monitor);
    let limit = Duration::from_secs(20);
    wait_until("the first version's results", limit, &events, |e| each_service_said(e, 0, "ok")).await;
    let modules = monitor.modules().await.unwrap();
    assert_eq!(modules.len(), 1, "{modules:?}");
    let v1 = modules[0].clone();
    assert_eq!((v1.kind, v1.services, v1.version.as_deref()), (ModuleKind::Check, 3, Some("0.1.0")));
    assert_eq!(v1.path.as_deref(), Some(dir.join("checks/probe.wasm").as_path()));
    assert!(v1.loaded_at > 1.0e9, "seconds since the UNIX epoch: {}", v1.loaded_at);

    // A half-written file is refused; the complete write that follows wins.
    let v2 = read(guests::HOTLOAD_V2);
    std::fs::write(&probe, &v2[..v2.len() / 2]).unwrap();
    wait_until("the half-written file's rejection", limit, &events, |e| {
        module_events(e).iter().any(|(a, _)| *a == ModuleAction::Rejected)
    })
    .await;
    let mark = result_count(&events);
    std::fs::write(&probe, &v2).unwrap();
    wait_until("the replacement", limit, &events, |e| {
        module_events(e).iter().any(|(a, _)| *a == ModuleAction::Replaced)
    })
    .await;
    wait_until("the second version's results", limit, &events, |e| each_service_said(e, mark, "Version 2: ok")).await;
    let status = monitor.modules().await.unwrap().remove(0);
    assert_eq!(status.version.as_deref(), Some("2.0.0"));
    assert_ne!(status.digest, v1.digest);
    assert!(status.loaded_at >= v1.loaded_at);
    assert!(status.last_error.is_some(), "the half-written file's rejection is kept");
    {
        let seen = events.lock().unwrap();
        // Every run so far was the old or the new version's, all OK.
        for (service, state, output) in results(&seen) {
            assert_eq!(state, "OK", "{service}: {output}");
            assert!(output == "ok" || output == "Version 2: ok", "{service}: {output}");
        }
        let replaced = seen.iter().find_map(|e| match e {
            Event::Module { action: ModuleAction::Replaced, module, version, digest, reason, .. } => {
                Some((module.clone(), version.clone(), digest.clone(), reason.clone()))
            }
            _ => None,
        });
        assert_eq!(replaced, Some((v1.name.clone(), Some("2.0.0".into()), Some(status.digest.clone()), None)));
    }

    // Three broken versions: garbage written in place, a component that
    // breaks the contract (its describe() does not say when it is WARN or
    // CRIT) and a command plugin where services expect a check, renamed
    // into place. Each is refused and version 2 stays in service.
    let broken: [(&[u8], bool, &str); 3] = [
        (b"this is not WebAssembly", false, "not a WebAssembly component"),
        (&read(guests::WELL_BEHAVED), true, "breaks the check contract"),
        (&read(guests::NOT_A_CHECK), true, "it is a command plugin"),
    ];
    for (bytes, rename, reason) in broken {
        let before = module_events(&events.lock().unwrap()).len();
        if rename {
            write_and_rename(&probe, bytes);
        } else {
            std::fs::write(&probe, bytes).unwrap();
        }
        wait_until(&format!("a rejection saying '{reason}'"), limit, &events, |e| module_events(e).len() > before)
            .await;
        let (action, why) = module_events(&events.lock().unwrap()).remove(before);
        assert_eq!(action, ModuleAction::Rejected);
        assert!(why.as_deref().unwrap_or_default().contains(reason), "{why:?} lacks '{reason}'");
        let status = monitor.modules().await.unwrap().remove(0);
        assert_eq!(status.version.as_deref(), Some("2.0.0"), "version 2 stays in service");
        assert!(status.last_error.as_ref().is_some_and(|e| e.reason.contains(reason)), "{:?}", status.last_error);
        let mark = result_count(&events);
        wait_until("version 2 still running", limit, &events, |e| each_service_said(e, mark, "Version 2: ok")).await;
    }
    for (service, state, output) in results(&events.lock().unwrap()) {
        assert_eq!(state, "OK", "no run failed: {service}: {output}");
    }

    // Removed: the services turn UNKNOWN naming the module.
    std::fs::remove_file(&probe).unwrap();
    let gone = format!("Check module {} was removed", v1.name);
    let mark = result_count(&events);
    wait_until("the services UNKNOWN", limit, &events, |e| {
        let r = results(e);
        SERVICES.iter().all(|s| {
            r.iter()
                .skip(mark)
                .any(|(service, state, output)| service == s && state == "UNKNOWN" && output.starts_with(&gone))
        })
    })
    .await;
    let status = monitor.modules().await.unwrap().remove(0);
    assert!(status.removed && status.services == 3, "{status:?}");

    // Put back: they run it again.
    write_and_rename(&probe, dummy());
    let mark = result_count(&events);
    wait_until("the module back in service", limit, &events, |e| each_service_said(e, mark, "ok")).await;
    assert!(module_events(&events.lock().unwrap()).iter().any(|(a, _)| *a == ModuleAction::Loaded));
    let status = monitor.modules().await.unwrap().remove(0);
    assert_eq!(
        (status.removed, status.digest.as_str(), status.version.as_deref()),
        (false, v1.digest.as_str(), Some("0.1.0"))
    );
    monitor.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `Monitor::reload` looks at the files at once and says what changed;
/// unchanged files and a refusal already reported are not reported again.
/// A module in the checks folder that no service uses is loaded too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_reports_what_changed() {
    let (dir, probe, mut config) = setup("reload");
    config.push_str("\n[[service]]\nhost = \"h\"\nname = \"Std\"\ncheck = \"dummy\"\ncheck_interval = \"1h\"\n");
    let spare = dir.join("checks/spare.wasm");
    std::fs::write(&spare, read(guests::HOTLOAD_V2)).unwrap();
    let monitor = Monitor::builder()
        .config_str(&config, &dir.join("wasmon.toml"))
        .unwrap()
        .sandbox(crate::sandbox().clone())
        .retention(Retention::None)
        .watch_modules(false)
        .start()
        .await
        .unwrap();
    let name = |p: &Path| p.display().to_string();
    // The start loaded the spare module; nothing changed since.
    assert!(monitor.reload().await.unwrap().is_empty());
    let modules = monitor.modules().await.unwrap();
    let summary: Vec<(&str, Option<&Path>, usize, Option<&str>)> =
        modules.iter().map(|m| (m.name.as_str(), m.path.as_deref(), m.services, m.version.as_deref())).collect();
    assert_eq!(
        summary,
        [
            (name(&probe).as_str(), Some(probe.as_path()), 3, Some("0.1.0")),
            ("dummy", None, 1, Some("0.1.0")),
            (name(&spare).as_str(), Some(spare.as_path()), 0, Some("2.0.0")),
        ]
    );

    std::fs::write(&probe, read(guests::HOTLOAD_V2)).unwrap();
    let broken = dir.join("checks/broken.wasm");
    std::fs::write(&broken, b"\0asm garbage").unwrap();
    std::fs::remove_file(&spare).unwrap();
    let report = monitor.reload().await.unwrap();
    assert_eq!(report.replaced, [name(&probe)]);
    assert_eq!(report.removed, [name(&spare)]);
    assert!(report.loaded.is_empty(), "{report:?}");
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].module, name(&broken));
    assert!(report.to_string().contains("1 replaced, 1 rejected, 1 removed"), "{report}");
    // The same broken file is not reported twice.
    assert!(monitor.reload().await.unwrap().is_empty());
    let names: Vec<String> = monitor.modules().await.unwrap().into_iter().map(|m| m.name).collect();
    assert_eq!(names, [name(&probe), "dummy".to_string()], "a removed module no service uses is not listed");

    write_and_rename(&spare, dummy());
    let report = monitor.reload().await.unwrap();
    assert_eq!(report.loaded, [name(&spare)]);
    monitor.stop().await.unwrap();
    assert!(matches!(monitor.reload().await, Err(wasmon_runtime::Error::Stopped)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The second version the hot-loading tests swap in keeps the contract.
#[tokio::test]
pub(crate) async fn hotload_v2() {
    let m = crate::guest(guests::HOTLOAD_V2);
    let info = m.describe().await.unwrap();
    assert_eq!(info.version, "2.0.0");
    assert_eq!(wasmon_runtime::contract::verify_info(&info), Vec::<String>::new());
    let run = m.check(&crate::call(&[("text", "hi")], Default::default(), Default::default())).await;
    assert_eq!((run.outcome.state, run.outcome.summary.as_str()), (wasmon_runtime::State::Ok, "Version 2: hi"));
}
