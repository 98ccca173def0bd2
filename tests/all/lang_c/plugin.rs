//! The classic plugin `check_values`: natively, through the library and
//! through the CLI.

use super::*;

/// Cases of `check_values ARGS`: (arguments, exit code, first line, long output).
const PLUGIN_CASES: &[(&[&str], i32, &str, &str)] = &[
    (
        &["-w", "80", "-c", "90", "cpu=85", "mem=40"],
        1,
        "VALUES WARNING - 1 of 2 values alert: cpu=85 (WARNING) | cpu=85;80;90 mem=40;80;90",
        "cpu: 85 WARNING (outside the warning range 80)\nmem: 40 OK",
    ),
    (
        &["-w", "80", "-c", "90", "-u", "%", "--max=100", "--min", "0", "cpu=95.5", "mem=40"],
        2,
        "VALUES CRITICAL - 1 of 2 values alert: cpu=95.5% (CRITICAL) | cpu=95.5%;80;90;0;100 mem=40%;80;90;0;100",
        "cpu: 95.5% CRITICAL (outside the critical range 90)\nmem: 40% OK",
    ),
    (
        &["--warning=~:10", "--critical", "@20:30", "queue=5", "lag=25;;~:100"],
        1,
        "VALUES WARNING - 1 of 2 values alert: lag=25 (WARNING) | queue=5;~:10;@20:30 lag=25;~:10;~:100",
        "queue: 5 OK\nlag: 25 WARNING (outside the warning range ~:10)",
    ),
    (&["-c", "10:", "free=12"], 0, "VALUES OK - 1 value is within its thresholds | free=12;;10:", "free: 12 OK"),
    (
        &["-w", "20:10", "x=1"],
        3,
        "VALUES UNKNOWN - -w: invalid range '20:10': start 20 is greater than end 10; expected N, N:, ~:N, N:M or @N:M",
        "Usage: check_values [-w RANGE] [-c RANGE] [-u UOM] [--min N] [--max N] LABEL=VALUE[;WARN[;CRIT]]...\nTry 'check_values --help' for more information.",
    ),
    (
        &["-w", "5", "load=high"],
        3,
        "VALUES UNKNOWN - the value of 'load=high' is not a number",
        "Usage: check_values [-w RANGE] [-c RANGE] [-u UOM] [--min N] [--max N] LABEL=VALUE[;WARN[;CRIT]]...\nTry 'check_values --help' for more information.",
    ),
    (
        &["-w", "5"],
        3,
        "VALUES UNKNOWN - no values given",
        "Usage: check_values [-w RANGE] [-c RANGE] [-u UOM] [--min N] [--max N] LABEL=VALUE[;WARN[;CRIT]]...\nTry 'check_values --help' for more information.",
    ),
];

/// Splits plugin stdout into its first line and the rest.
fn first_and_rest(stdout: &str) -> (&str, &str) {
    let stdout = stdout.trim_end();
    stdout.split_once('\n').unwrap_or((stdout, ""))
}

#[test]
fn c_plugin_check_values_natively() {
    let plugin = repo().join("checks/c/plugins/check_values.c");
    let Some(exe) = cc(&scratch("plugin").join("check_values"), &[repo().join("sdk/c/wasmon_check.c"), plugin]) else {
        return;
    };
    for (args, code, first, rest) in PLUGIN_CASES {
        let out = Command::new(&exe).args(*args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("check_values {}\n{stdout}", args.join(" "));
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stdout}");
        assert_eq!(first_and_rest(&stdout), (*first, *rest), "{args:?}");
    }
}

/// The state a plugin's exit code stands for.
fn state_of(code: i32) -> State {
    match code {
        0 => State::Ok,
        1 => State::Warning,
        2 => State::Critical,
        _ => State::Unknown,
    }
}

#[tokio::test]
async fn c_plugin_check_values_through_the_library() {
    for file in ["plugins/check_values.wasm", "plugins/check_values.component.wasm"] {
        let Some(wasm) = c_build(file) else { return };
        let module = sandbox().load_file(&wasm).unwrap_or_else(|e| panic!("loading {file}: {e}"));
        for (args, code, first, rest) in PLUGIN_CASES {
            let call = CheckCall { args: args.iter().map(|a| a.to_string()).collect(), ..CheckCall::default() };
            let o = show(module.check(&call).await).outcome;
            assert_eq!(o.state, state_of(*code), "{file} {args:?}");
            let (summary, perfdata) = first.split_once(" | ").unwrap_or((first, ""));
            assert_eq!(o.summary, summary, "{file} {args:?}");
            assert_eq!(o.long_output.as_deref().unwrap_or(""), *rest, "{file} {args:?}");
            let labels: Vec<String> = o.metrics.iter().map(|m| format!("{}={}{}", m.label, m.value, m.uom)).collect();
            let expected: Vec<String> =
                perfdata.split_whitespace().map(|e| e.split(';').next().unwrap().to_string()).collect();
            assert_eq!(labels, expected, "{file} {args:?}");
        }
        // Ranges arrive parsed: -w 80 is 0..80, @20:30 alerts inside.
        let call =
            CheckCall { args: PLUGIN_CASES[2].0.iter().map(|a| a.to_string()).collect(), ..CheckCall::default() };
        let o = module.check(&call).await.outcome;
        assert_eq!(o.metrics[0].warn, range(None, Some(10.0)));
        assert_eq!(o.metrics[0].crit, Some(Range { start: Some(20.0), end: Some(30.0), inside: true }));
    }
}

#[test]
fn c_plugin_check_values_through_the_cli() {
    let Some(bin) = wasmon_bin() else { return };
    for file in ["plugins/check_values.wasm", "plugins/check_values.component.wasm"] {
        let Some(wasm) = c_build(file) else { return };
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cli-cache-c");
        for (args, code, first, rest) in PLUGIN_CASES {
            let mut all = vec!["--"];
            all.extend_from_slice(args);
            let (exit, stdout) = cli(&bin, &cache, &wasm, &all);
            assert_eq!(exit, *code, "{file} {args:?}: {stdout}");
            // wasmon prints the plugin's state, its summary and its perfdata.
            let (line, long) = first_and_rest(&stdout);
            let (summary, perfdata) = first.split_once(" | ").unwrap_or((first, ""));
            let state = state_of(*code).to_string();
            assert!(line.starts_with(&format!("{state} - ")) && line.contains(summary), "{file} {args:?}: {line}");
            if !perfdata.is_empty() {
                assert!(line.ends_with(&format!(" | {perfdata}")), "{file} {args:?}: {line}");
            }
            assert_eq!(long, *rest, "{file} {args:?}");
        }
    }
}
