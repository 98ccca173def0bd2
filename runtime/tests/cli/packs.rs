//! `wasmon pack build`, `install`, `list` and `show` as an operator runs
//! them, on the packs this repository ships and on broken ones.

use std::path::{Path, PathBuf};

use super::{code, stdout, wasmon};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("packs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The repository's pack source folder `name`.
fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packs").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Builds the shipped pack `name` into `dir`; returns the pack file.
fn build(name: &str, dir: &Path) -> PathBuf {
    let file = dir.join(format!("{name}.wasmonpack"));
    let out = wasmon(&["pack", "build", s(&source(name)), "-o", s(&file)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("{}: {name} 1.0.0", file.display())), "{}", stdout(&out));
    file
}

#[test]
fn the_shipped_packs_build_install_list_and_show() {
    let dir = scratch("shipped");
    let packs = dir.join("packs");
    let linux = build("linux-basics", &dir);
    let web = build("web-basics", &dir);

    let out = wasmon(&["pack", "install", s(&linux), "--packs-dir", s(&packs)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("installed linux-basics 1.0.0 in {}", packs.join("linux-basics").display())),
        "{text}"
    );
    // The grants are printed: a pack cannot widen them silently.
    assert!(
        text.contains(
            "check disk: granted the system interface (load, memory, filesystems, uptime); grants: system, no-target"
        ),
        "{text}"
    );
    assert!(packs.join("linux-basics/pack.toml").is_file());
    for check in ["load", "memory", "disk", "uptime"] {
        assert!(packs.join(format!("linux-basics/checks/{check}.wasm")).is_file(), "{check}");
    }

    // --config: the packs folder beside the configuration file.
    let config = dir.join("wasmon.toml");
    std::fs::write(&config, "[[host]]\nname = \"web1\"\naddress = \"127.0.0.1\"\n").unwrap();
    let out = wasmon(&["pack", "install", s(&web), "--config", s(&config)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("check dns: granted connections to the host's address, name lookups; grants: dns"),
        "{}",
        stdout(&out)
    );

    let out = wasmon(&["pack", "list", "--packs-dir", s(&packs)]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("linux-basics 1.0.0: A Linux machine's basics"), "{text}");
    assert!(text.contains("    checks: load, memory, disk, uptime"), "{text}");
    assert!(text.contains("    services: Load, Memory, Disk {item}, Uptime"), "{text}");
    assert!(text.contains("web-basics 1.0.0: "), "{text}");

    let out = wasmon(&["pack", "list", "--config", s(&config), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let names: Vec<&str> = json.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["linux-basics", "web-basics"]);
    assert_eq!(json[1]["checks"], serde_json::json!(["tcp", "http", "dns"]));

    let out = wasmon(&["pack", "show", "linux-basics", "--packs-dir", s(&packs)]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with("linux-basics 1.0.0\n"), "{text}");
    assert!(text.contains("    uptime 0.1.0, the standard check uptime: Linux: uptime since the last boot\n        granted: the system interface (load, memory, filesystems, uptime); grants: system, no-target"), "{text}");
    assert!(
        text.contains("    Disk {item}: check disk, one per discovered item, include /*, exclude /snap/* /boot/efi"),
        "{text}"
    );
    assert!(
        text.contains("    Load: check load\n        params: critical=4.0,3.0,2.0 percpu=true warning=2.0,1.5,1.0"),
        "{text}"
    );

    let out = wasmon(&["pack", "show", "web-basics", "--packs-dir", s(&packs), "-f", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["check"][2]["grants"], serde_json::json!(["dns"]));
    assert_eq!(json["check"][1]["info"]["name"], "http");
    assert!(json["check"][1]["info"]["manpage"]["description"].as_str().unwrap().len() > 40);

    let out = wasmon(&["pack", "show", "nope", "--packs-dir", s(&packs)]);
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains(&format!(
            "no pack \"nope\" is installed in {} (installed: linux-basics, web-basics",
            packs.display()
        )),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_newer_version_replaces_the_installed_one() {
    let dir = scratch("upgrade");
    let packs = dir.join("packs");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let manifest = |version: &str, extra: &str| {
        format!(
            "name = \"mini\"\nversion = \"{version}\"\ndescription = \"A small pack.\"\n\n[[check]]\nname = \"dummy\"\n{extra}\n[[service]]\nname = \"Dummy\"\ncheck = \"dummy\"\n"
        )
    };
    std::fs::write(src.join("pack.toml"), manifest("1.0.0", "\n[[check]]\nname = \"load\"\n")).unwrap();
    let v1 = dir.join("v1.wasmonpack");
    assert_eq!(code(&wasmon(&["pack", "build", s(&src), "-o", s(&v1)])), 0);
    std::fs::write(src.join("pack.toml"), manifest("1.1.0", "grants = [\"dns\"]\n")).unwrap();
    let v2 = dir.join("v2.wasmonpack");
    assert_eq!(code(&wasmon(&["pack", "build", s(&src), "-o", s(&v2)])), 0);

    assert_eq!(code(&wasmon(&["pack", "install", s(&v1), "--packs-dir", s(&packs)])), 0);
    assert!(packs.join("mini/checks/load.wasm").is_file());
    let out = wasmon(&["pack", "install", s(&v2), "--packs-dir", s(&packs)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("installed mini 1.1.0 in ") && stdout(&out).contains("(replacing 1.0.0)"),
        "{}",
        stdout(&out)
    );
    // A widened grant is said out loud.
    assert!(stderr(&out).contains("check dummy is granted more than before: dns"), "{}", stderr(&out));
    let out = wasmon(&["pack", "list", "--packs-dir", s(&packs)]);
    assert!(stdout(&out).contains("mini 1.1.0: A small pack.\n    checks: dummy\n"), "{}", stdout(&out));
    assert!(!packs.join("mini/checks/load.wasm").exists(), "a check the new version dropped is removed");
    let left: Vec<_> = std::fs::read_dir(&packs).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, ["mini"], "no staging folder is left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_manifests_are_refused_with_file_line_and_key() {
    let dir = scratch("bad");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let file = src.join("pack.toml");
    std::fs::write(
        &file,
        "name = \"Bad Pack\"\nversion = \"1.0\"\ndescription = \"x\"\ncolour = \"blue\"\n\n[[check]]\nname = \"load\"\nparams = { warnig = \"5\" }\n\n[[check]]\nname = \"nosuch\"\n\n[[service]]\nname = \"Load\"\ncheck = \"lod\"\n",
    )
    .unwrap();
    let out = wasmon(&["pack", "build", s(&src)]);
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    let f = file.display();
    assert!(
        err.contains(&format!(
            "{f}:4:1: pack: unknown key 'colour' (expected one of: name, version, description, check, service)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:11:8: check \"nosuch\": key 'component': no standard check named \"nosuch\"")),
        "{err}"
    );

    // Structure right, meaning wrong: reported after the components loaded.
    std::fs::write(
        &file,
        "name = \"Bad Pack\"\nversion = \"1.0\"\ndescription = \"x\"\n\n[[check]]\nname = \"load\"\nparams = { warnig = \"5\" }\n\n[[service]]\nname = \"Load\"\ncheck = \"lod\"\n\n[[service]]\nname = \"Disk\"\ncheck = \"load\"\ndiscover = true\n",
    )
    .unwrap();
    let out = wasmon(&["pack", "build", s(&src)]);
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{f}:1:8: pack: key 'name': expected lower-case letters, digits and '-', found \"Bad Pack\""
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{f}:2:11: pack: key 'version': expected a version MAJOR.MINOR.PATCH")), "{err}");
    assert!(err.contains(&format!("{f}:7:12: check \"load\": key 'params.warnig': check \"load\" has no parameter 'warnig' (it takes: warning, critical, percpu)")), "{err}");
    assert!(
        err.contains(&format!(
            "{f}:11:9: service \"Load\": key 'check': no check named \"lod\" in this pack (checks: load)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{f}:14:8: service \"Disk\": key 'name': a service with discover = true needs \"{{item}}\" in its name"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:16:12: service \"Disk\": key 'discover': check \"load\" does not discover items")),
        "{err}"
    );
    assert!(stderr(&out).contains("problems found"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broken_component_is_refused_at_build_and_at_install() {
    let dir = scratch("broken");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let broken = b"\0asm\x0d\x00\x01\x00this is no component";
    std::fs::write(src.join("broken.wasm"), broken).unwrap();
    std::fs::write(
        src.join("pack.toml"),
        "name = \"broken\"\nversion = \"1.0.0\"\ndescription = \"A pack with a broken check.\"\n\n[[check]]\nname = \"broken\"\ncomponent = \"broken.wasm\"\n\n[[service]]\nname = \"Broken\"\ncheck = \"broken\"\n",
    )
    .unwrap();
    let out = wasmon(&["pack", "build", s(&src)]);
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:7:13: check \"broken\": key 'component': the component does not load",
            src.join("pack.toml").display()
        )),
        "{err}"
    );

    // A pack file whose manifest is right but whose component is not (made
    // by hand: `wasmon pack build` would not write it).
    let good = dir.join("good.wasmonpack");
    std::fs::write(
        src.join("pack.toml"),
        "name = \"broken\"\nversion = \"1.0.0\"\ndescription = \"A pack.\"\n\n[[check]]\nname = \"dummy\"\n\n[[service]]\nname = \"Dummy\"\ncheck = \"dummy\"\n",
    )
    .unwrap();
    assert_eq!(code(&wasmon(&["pack", "build", s(&src), "-o", s(&good)])), 0);
    let pack = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let sandbox = wasmon_runtime::Sandbox::builder().cache_dir(None).build().unwrap();
        wasmon_runtime::pack::read_file(&good, &sandbox).await.unwrap()
    });
    let mut bad = pack.clone();
    bad.components[0] = broken.to_vec();
    bad.manifest.checks[0].sha256 = sha256(broken);
    let file = dir.join("bad.wasmonpack");
    std::fs::write(&file, bad.to_bytes().unwrap()).unwrap();
    let packs = dir.join("packs");
    let out = wasmon(&["pack", "install", s(&file), "--packs-dir", s(&packs)]);
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains(&format!(
            "{} is refused: {}: check \"dummy\": checks/dummy.wasm: the component does not load",
            file.display(),
            file.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!packs.join("broken").exists(), "nothing is installed");

    // A component changed after the build: its digest no longer matches.
    let mut tampered = pack.clone();
    tampered.components[0] = wasmon_runtime::standard::find("load").unwrap().wasm.to_vec();
    std::fs::write(&file, tampered.to_bytes().unwrap()).unwrap();
    let out = wasmon(&["pack", "install", s(&file), "--packs-dir", s(&packs)]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("checks/dummy.wasm has sha256 "), "{}", stderr(&out));

    // Not a pack at all.
    std::fs::write(&file, b"hello").unwrap();
    let out = wasmon(&["pack", "install", s(&file), "--packs-dir", s(&packs)]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("not a pack file"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn validate_expands_packs_and_names_one_that_is_not_installed() {
    let dir = scratch("validate");
    let packs = dir.join("packs");
    let linux = build("linux-basics", &dir);
    assert_eq!(code(&wasmon(&["pack", "install", s(&linux), "--packs-dir", s(&packs)])), 0);
    let config = dir.join("wasmon.toml");
    std::fs::write(&config, "[[host]]\nname = \"here\"\npacks = [\"linux-basics\"]\n").unwrap();
    let out = wasmon(&["validate", "-c", s(&config)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Load, Memory, Uptime and at least one discovered disk.
    let text = stdout(&out);
    let n: usize = text.split(", ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(n >= 4, "{text}");

    std::fs::write(
        &config,
        "[[host]]\nname = \"here\"\npacks = [\"linux-basics\", \"web-basics\"]\npack_params = { \"linux-basics\" = { warnig = \"1\", \"Disk {item}\" = { warning = \"85%\" }, \"Nope\" = { x = 1 } } }\n",
    )
    .unwrap();
    let out = wasmon(&["validate", "-c", s(&config)]);
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    let f = config.display();
    assert!(
        err.contains(&format!(
            "{f}:3:26: host \"here\": key 'packs': no pack \"web-basics\" is installed in {} (installed: linux-basics;",
            packs.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{f}:4:36: host \"here\": key 'pack_params.linux-basics.warnig': no check of pack \"linux-basics\""
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{f}:4:87: host \"here\": key 'pack_params.linux-basics.Nope': pack \"linux-basics\" has no service \"Nope\"")), "{err}");
    assert!(!err.contains("key 'pack_params.linux-basics.Disk {item}"), "a good override is no problem: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
