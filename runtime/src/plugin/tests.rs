//! The plugin interface's edge cases: output splitting (Nagios/Naemon),
//! performance data and ranges (Monitoring Plugins development guidelines),
//! exit codes, macros, and the preview1 conversion's checks.

use super::*;
use crate::outcome::Range;
use crate::sandbox::policy::Target;

fn split(text: &str) -> (String, Option<String>, String) {
    let s = split_output(text);
    (s.summary, s.long_output, s.perfdata)
}

fn s(text: &str) -> String {
    text.to_string()
}

// --- Output splitting --------------------------------------------------

#[test]
fn summary_only() {
    assert_eq!(
        split("DISK OK - free space: / 3326 MB (56%)"),
        (s("DISK OK - free space: / 3326 MB (56%)"), None, s(""))
    );
    // The trailing line break plugins print is not long output.
    assert_eq!(split("OK\n"), (s("OK"), None, s("")));
    assert_eq!(split("OK\r\n"), (s("OK"), None, s("")));
}

#[test]
fn summary_and_perfdata_on_the_first_line() {
    let out = "TCP OK - 0.043 second response time on port 80|time=0.042824s;0.000000;0.000000;0.000000;10.000000";
    assert_eq!(
        split(out),
        (
            s("TCP OK - 0.043 second response time on port 80"),
            None,
            s("time=0.042824s;0.000000;0.000000;0.000000;10.000000")
        )
    );
    // Blanks around the pipe belong to neither part.
    assert_eq!(split("OK - fine | a=1 b=2 \n"), (s("OK - fine"), None, s("a=1 b=2")));
}

#[test]
fn long_output_without_perfdata() {
    assert_eq!(split("OK - 3 disks\n/ 10%\n/var 20%\n"), (s("OK - 3 disks"), Some(s("/ 10%\n/var 20%")), s("")));
}

/// The example of the Nagios developer guidelines ("Plugin Output for
/// Nagios", multiple lines of output): perfdata on the first line, long
/// output, then a line with a pipe after which everything is perfdata.
#[test]
fn the_nagios_guidelines_example() {
    let out = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n\
               / 15272 MB (77%);\n\
               /boot 68 MB (69%);\n\
               /home 69357 MB (27%);\n\
               /var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n\
               /home=69357MB;253404;253409;0;253414 \n\
               /var/log=818MB;970;975;0;980\n";
    let (summary, long, perf) = split(out);
    assert_eq!(summary, "DISK OK - free space: / 3326 MB (56%);");
    assert_eq!(
        long.as_deref(),
        Some("/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);")
    );
    assert_eq!(
        perf,
        "/=2643MB;5948;5958;0;5968 /boot=68MB;88;93;0;98 /home=69357MB;253404;253409;0;253414 /var/log=818MB;970;975;0;980"
    );
    let parsed = parse_output(out);
    assert_eq!(parsed.metrics.len(), 4, "{:?}", parsed.bad_perfdata);
    assert!(parsed.bad_perfdata.is_empty());
    assert_eq!(parsed.metrics[1].label, "/boot");
    assert_eq!((parsed.metrics[3].value, parsed.metrics[3].max), (818.0, Some(980.0)));
}

#[test]
fn a_pipe_in_a_later_line_starts_perfdata_for_good() {
    // The part before the pipe is still long output; later lines, even
    // ones without '=', are perfdata (and are reported if bad).
    let (summary, long, perf) = split("OK\nline one\nline two | a=1\nb=2\nnot perfdata at all\n");
    assert_eq!(summary, "OK");
    assert_eq!(long.as_deref(), Some("line one\nline two"));
    assert_eq!(perf, "a=1 b=2 not perfdata at all");
    // A pipe right at the start of a line: nothing of it is long output.
    assert_eq!(split("OK\n| a=1\n"), (s("OK"), None, s("a=1")));
    // The first line's perfdata and the later perfdata are joined.
    assert_eq!(split("OK | a=1\ndetail\n| b=2"), (s("OK"), Some(s("detail")), s("a=1 b=2")));
}

#[test]
fn only_the_first_pipe_of_a_line_splits() {
    let (summary, _, perf) = split("OK | a=1 | b=2");
    assert_eq!((summary.as_str(), perf.as_str()), ("OK", "a=1 | b=2"));
    let parsed = parse_output("OK | a=1 | b=2");
    assert_eq!(parsed.metrics.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(parsed.bad_perfdata.len(), 1, "the stray pipe is reported");
    assert_eq!(parsed.bad_perfdata[0].entry, "|");
}

#[test]
fn blank_and_odd_output() {
    assert_eq!(split(""), (s(""), None, s("")));
    assert_eq!(split("\n\n"), (s(""), None, s("")));
    // An empty first line still is the summary; what follows is long output.
    assert_eq!(split("\nsecond"), (s(""), Some(s("second")), s("")));
    // Only perfdata.
    assert_eq!(split("|a=1"), (s(""), None, s("a=1")));
    // Blank lines inside the long output are kept, trailing ones are not.
    assert_eq!(split("OK\na\n\nb\n\n\n"), (s("OK"), Some(s("a\n\nb")), s("")));
    // Leading blanks of long output lines are kept (indentation).
    assert_eq!(split("OK\n  indented  \n"), (s("OK"), Some(s("  indented")), s("")));
}

// --- Performance data ----------------------------------------------------

fn metrics(text: &str) -> Vec<Metric> {
    let (m, bad) = parse_perfdata(text);
    assert!(bad.is_empty(), "unexpected bad entries in {text:?}: {bad:?}");
    m
}

fn bad(text: &str) -> Vec<String> {
    let (m, bad) = parse_perfdata(text);
    assert!(m.is_empty(), "unexpected metrics in {text:?}: {m:?}");
    bad.iter().map(ToString::to_string).collect()
}

fn range(start: Option<f64>, end: Option<f64>, inside: bool) -> Option<Range> {
    Some(Range { start, end, inside })
}

#[test]
fn the_seed_examples() {
    let m = metrics("time=0.218901s;;;0.000000 size=42236B;;;0");
    assert_eq!(m.len(), 2);
    assert_eq!(
        m[0],
        Metric { label: s("time"), value: 0.218901, uom: s("s"), warn: None, crit: None, min: Some(0.0), max: None }
    );
    assert_eq!((m[1].label.as_str(), m[1].value, m[1].uom.as_str(), m[1].min), ("size", 42236.0, "B", Some(0.0)));
    let m = metrics("time=0.042824s;0.000000;0.000000;0.000000;10.000000");
    assert_eq!(m[0].warn, range(Some(0.0), Some(0.0), false));
    assert_eq!(m[0].max, Some(10.0));
}

#[test]
fn every_unit_of_the_guidelines_is_kept_as_written() {
    for uom in UNITS {
        let m = metrics(&format!("x=5{uom}"));
        assert_eq!((m[0].value, m[0].uom.as_str()), (5.0, uom));
    }
    let m = metrics("t=12ms;100;200 d=3.5KB l=7");
    assert_eq!((m[0].value, m[0].uom.as_str(), m[0].warn), (12.0, "ms", range(Some(0.0), Some(100.0), false)));
    assert_eq!((m[1].value, m[1].uom.as_str()), (3.5, "KB"));
    assert_eq!(m[2].uom, "");
}

#[test]
fn units_outside_the_guidelines_are_kept_as_written() {
    // Icinga 2's writers drop these; a power supply's watts are a metric too.
    for (entry, uom) in [("x=5KiB", "KiB"), ("x=5kb", "kb"), ("x=5W", "W"), ("x=5dBm", "dBm"), ("x=5µs", "µs")] {
        let m = metrics(entry);
        assert_eq!((m[0].value, m[0].uom.as_str()), (5.0, uom), "{entry}");
        assert_eq!(m[0].perfdata(), entry);
    }
    // What is not letters after the number is no unit but a bad number.
    assert!(bad("x=5°C")[0].contains("value '5°C' is not a number"));
}

#[test]
fn quoted_labels() {
    let m = metrics("'free space'=10% 'a=b'=1 'it''s'=2 '/var/log'=3 'x'=4");
    let labels: Vec<&str> = m.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["free space", "a=b", "it's", "/var/log", "x"]);
    // A quoted label with a doubled quote at its end.
    assert_eq!(metrics("'end'''=1")[0].label, "end'");
    // Labels render back quoted where needed.
    assert_eq!(m[0].perfdata(), "'free space'=10%");
    assert_eq!(m[2].perfdata(), "'it''s'=2");
}

#[test]
fn bad_labels() {
    assert!(bad("'open=1 b=2")[0].ends_with("the quote that opens the label is not closed"));
    assert!(bad("'a'b=1")[0].contains("expected '=' after the quoted label"));
    assert!(bad("=5")[0].ends_with("the label is empty"));
    assert!(bad("''=5")[0].ends_with("the label is empty"));
    assert!(bad("it's=5")[0].contains("holds a quote"));
    assert!(bad("novalue")[0].ends_with("no '=' between label and value"));
}

#[test]
fn unknown_values() {
    let m = metrics("a=U b=U;1;2;0;10");
    assert!(m[0].value.is_nan() && m[0].uom.is_empty());
    assert_eq!((m[1].warn, m[1].max), (range(Some(0.0), Some(1.0), false), Some(10.0)));
    assert_eq!(m[0].perfdata(), "a=U");
    // `U` takes no unit, and other letters are no value.
    assert!(bad("a=Us")[0].contains("value 'Us' is not a number"));
    assert!(bad("a=u")[0].contains("value 'u' is not a number"));
}

#[test]
fn numbers() {
    let values: Vec<f64> = metrics("a=-5 b=.5 c=5. d=1.5e3 e=2E-2 f=0 g=-0.25s").iter().map(|m| m.value).collect();
    assert_eq!(values, [-5.0, 0.5, 5.0, 1500.0, 0.02, 0.0, -0.25]);
    for (entry, needle) in [
        ("a=", "no value after '='"),
        ("a=abc", "value 'abc' is not a number"),
        ("a=1,5", "value '1,5' is not a number"),
        ("a=1.2.3", "value '1.2.3' is not a number"),
        ("a=+5", "value '+5' is not a number"),
        ("a=-", "value '-' is not a number"),
        ("a=.", "value '.' is not a number"),
        ("a=inf", "is not a number"),
        ("a=NaN", "is not a number"),
        ("a=5;;;x", "minimum 'x' is not a number"),
        ("a=5;;;;10MB", "maximum '10MB' is not a number"),
    ] {
        let b = bad(entry);
        assert!(b[0].contains(needle), "{entry}: {b:?}");
    }
}

#[test]
fn trailing_and_empty_fields() {
    let full = metrics("a=1;2;3;4;5")[0].clone();
    assert_eq!(
        (full.warn, full.crit, full.min, full.max),
        (range(Some(0.0), Some(2.0), false), range(Some(0.0), Some(3.0), false), Some(4.0), Some(5.0))
    );
    for text in ["a=1", "a=1;", "a=1;;", "a=1;;;", "a=1;;;;"] {
        let m = metrics(text);
        assert_eq!((m[0].warn, m[0].crit, m[0].min, m[0].max), (None, None, None, None), "{text}");
    }
    // Empty fields in the middle.
    let m = metrics("a=1;;3;;5");
    assert_eq!((m[0].warn, m[0].crit, m[0].min, m[0].max), (None, range(Some(0.0), Some(3.0), false), None, Some(5.0)));
    assert!(bad("a=1;2;3;4;5;6")[0].contains("6 fields, expected at most 5"));
    // An empty sixth field (and more) is a habit of some plugins, not an error.
    for text in ["a=1;2;3;4;5;", "a=1;2;3;4;5;;"] {
        assert_eq!(metrics(text)[0], full, "{text}");
    }
}

#[test]
fn thresholds_are_ranges() {
    let cases = [
        ("10", range(Some(0.0), Some(10.0), false)),
        ("10:", range(Some(10.0), None, false)),
        ("~:10", range(None, Some(10.0), false)),
        ("10:20", range(Some(10.0), Some(20.0), false)),
        ("@10:20", range(Some(10.0), Some(20.0), true)),
        ("@10", range(Some(0.0), Some(10.0), true)),
        ("@~:10", range(None, Some(10.0), true)),
        ("-5:-1", range(Some(-5.0), Some(-1.0), false)),
        ("~:", range(None, None, false)),
        (":10", range(Some(0.0), Some(10.0), false)),
        ("0.5:1.5", range(Some(0.5), Some(1.5), false)),
        ("5:5", range(Some(5.0), Some(5.0), false)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_range(text).ok(), want, "{text}");
        let m = metrics(&format!("a=1;{text};{text}"));
        assert_eq!((m[0].warn, m[0].crit), (want, want), "{text}");
        // And back: a parsed range renders as an equivalent one.
        assert_eq!(parse_range(&want.unwrap().to_string()).ok(), want, "{text}");
    }
    for (text, needle) in [
        ("20:10", "the start is greater than the end"),
        ("abc", "'abc' is not a number"),
        ("10ms", "'10ms' is not a number"),
        ("@", "it is empty"),
        ("~", "'~' is not a number"),
        ("1:2:3", "'2:3' is not a number"),
        ("10:~", "'~' is not a number"),
    ] {
        let err = parse_range(text).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let b = bad("a=1;20:10");
    assert_eq!(
        b[0],
        "Ignored bad performance data 'a=1;20:10': warning threshold '20:10' is not a range: the start is greater than the end"
    );
    assert!(bad("a=1;;x")[0].contains("critical threshold 'x' is not a range"));
}

/// A start too small for six decimals renders as 0 and is left out as 0
/// is, so a rendered range renders the same after reading it back (found
/// by the `range` fuzz target).
#[test]
fn a_start_that_rounds_to_zero_is_left_out() {
    for (text, shown) in [("2.101e-50:1.5", "1.5"), ("-0.0000001:1.5", "1.5"), ("@0.0000001:1.5", "@0:1.5")] {
        let r = parse_range(text).unwrap();
        assert_eq!(r.to_string(), shown, "{text}");
        assert_eq!(parse_range(shown).unwrap().to_string(), shown, "{text}");
    }
    assert_eq!(metrics("e=5;0.0000000000000005:1.5")[0].perfdata(), "e=5;1.5");
}

#[test]
fn ranges_alert_as_the_guidelines_say() {
    let r = |t: &str| parse_range(t).unwrap();
    // 10: alert if < 0 or > 10.
    assert!(r("10").alerts(-1.0) && r("10").alerts(11.0) && !r("10").alerts(0.0) && !r("10").alerts(10.0));
    // 10: alert if < 10.
    assert!(r("10:").alerts(9.9) && !r("10:").alerts(1e9));
    // ~:10 alert if > 10.
    assert!(r("~:10").alerts(10.1) && !r("~:10").alerts(-1e9));
    // 10:20 alert if < 10 or > 20.
    assert!(r("10:20").alerts(9.0) && r("10:20").alerts(21.0) && !r("10:20").alerts(15.0));
    // @10:20 alert if >= 10 and <= 20.
    assert!(
        r("@10:20").alerts(10.0) && r("@10:20").alerts(20.0) && !r("@10:20").alerts(9.9) && !r("@10:20").alerts(20.1)
    );
}

#[test]
fn good_and_bad_entries_side_by_side() {
    let (m, b) = parse_perfdata("a=1 x=abc 'b c'=2s;1;2 y 'z'=3");
    assert_eq!(m.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["a", "b c", "z"]);
    let b: Vec<String> = b.iter().map(ToString::to_string).collect();
    assert_eq!(
        b,
        [
            "Ignored bad performance data 'x=abc': value 'abc' is not a number",
            "Ignored bad performance data 'y': no '=' between label and value",
        ]
    );
    // Any whitespace separates entries: tabs and line breaks too.
    assert_eq!(metrics("a=1\tb=2\nc=3  d=4").len(), 4);
    assert_eq!(parse_perfdata("   ").0.len(), 0);
}

#[test]
fn a_long_bad_entry_is_quoted_shortened() {
    let entry = format!("x={}", "9".repeat(100) + "!");
    let line = bad(&entry)[0].clone();
    assert!(line.starts_with(&format!("Ignored bad performance data 'x={}...'", "9".repeat(58))), "{line}");
}

#[test]
fn duplicate_labels_are_kept_in_order() {
    let m = metrics("a=1 a=2");
    assert_eq!(m.iter().map(|m| m.value).collect::<Vec<_>>(), [1.0, 2.0]);
}

#[test]
fn perfdata_renders_back() {
    let text = "time=0.042824s;1;2;0;10 'free space'=10%;20:;@10:20 size=42236B;;;0 cnt=17c";
    let rendered: Vec<String> = metrics(text).iter().map(Metric::perfdata).collect();
    assert_eq!(rendered.join(" "), text);
}

// --- Bad entries: a field of their own, the long output verbatim ----------

#[test]
fn bad_entries_are_named_apart_from_the_long_output_and_bounded() {
    let out = parse_output("OK - fine | a=1 x=abc\ndetail line");
    assert_eq!(out.metrics.len(), 1);
    assert_eq!(out.long_output.as_deref(), Some("detail line"), "the plugin's text, as it wrote it");
    assert_eq!(out.perfdata_errors(), ["Ignored bad performance data 'x=abc': value 'abc' is not a number"]);
    let many = (0..25).map(|i| format!("b{i}=x")).collect::<Vec<_>>().join(" ");
    let errors = parse_output(&format!("OK | {many}")).perfdata_errors();
    assert_eq!(errors.len(), 11, "{errors:?}");
    assert_eq!(errors[10], "(15 more bad performance data entries ignored)");
    assert!(parse_output("OK | a=1").perfdata_errors().is_empty());
    // A plugin's result keeps them apart too.
    let r = plugin_result(ExitStatus::Code(0), "OK - fine | a=1 x=abc\ndetail line", "");
    assert_eq!((r.long_output.as_deref(), r.perfdata_errors.len()), (Some("detail line"), 1));
}

// --- Exit codes and results -------------------------------------------------

#[test]
fn exit_codes() {
    assert_eq!(state_from_exit_code(0), Some(State::Ok));
    assert_eq!(state_from_exit_code(1), Some(State::Warning));
    assert_eq!(state_from_exit_code(2), Some(State::Critical));
    assert_eq!(state_from_exit_code(3), Some(State::Unknown));
    for code in [4, 5, 126, 127, 255, -1, 256] {
        assert_eq!(state_from_exit_code(code), None, "{code}");
    }
}

#[test]
fn results_by_exit_code() {
    for (code, state) in [(0, State::Ok), (1, State::Warning), (2, State::Critical), (3, State::Unknown)] {
        let r = plugin_result(ExitStatus::Code(code), "DISK - fine | a=1\nmore", "ignored stderr");
        assert_eq!((r.state, r.termination.clone()), (state, Termination::Completed));
        assert_eq!(r.summary, "DISK - fine");
        assert_eq!(r.long_output.as_deref(), Some("more"));
        assert_eq!(r.metrics.len(), 1);
    }
}

#[test]
fn out_of_range_codes_are_unknown_with_the_plugin_text_kept() {
    for code in [4, 255, 127] {
        let r = plugin_result(ExitStatus::Code(code), "CRITICAL - on fire | a=1 b=x\nsmoke", "");
        assert_eq!((r.state, r.termination.clone()), (State::Unknown, Termination::InvalidExit));
        assert_eq!(r.summary, format!("Plugin exited with code {code}, which is not a plugin state (0-3)"));
        let long = r.long_output.unwrap();
        assert!(long.ends_with("Plugin output:\nCRITICAL - on fire\nsmoke"), "dropped perfdata is not judged: {long}");
        assert!(r.metrics.is_empty(), "perfdata of a run with an invalid code is dropped");
    }
    let r = plugin_result(ExitStatus::FailureWithoutCode, "CRITICAL - x", "");
    assert_eq!((r.state, r.termination), (State::Unknown, Termination::InvalidExit));
    assert_eq!(r.summary, "Plugin exited with a failure status that carries no exit code");
    let long = r.long_output.unwrap();
    assert!(
        long.contains("wasm32-wasip1")
            && long.contains("exit-with-code")
            && long.ends_with("Plugin output:\nCRITICAL - x"),
        "{long}"
    );
}

#[test]
fn no_stdout_shows_stderr_as_nagios_does() {
    let r = plugin_result(ExitStatus::Code(2), "", "check_foo: cannot connect\nsecond line\n");
    assert_eq!(r.state, State::Critical);
    assert_eq!(r.summary, "(No output on stdout) stderr: check_foo: cannot connect");
    assert_eq!(r.long_output.as_deref(), Some("second line"));
    let r = plugin_result(ExitStatus::Code(0), " \n", "");
    assert_eq!((r.state, r.summary.as_str(), r.long_output), (State::Ok, "(No output returned from plugin)", None));
    let r = plugin_result(ExitStatus::Code(9), "", "");
    assert!(r.long_output.unwrap().ends_with("3 (UNKNOWN)."), "no empty 'Plugin output' section");
}

// --- Macros ---------------------------------------------------------------------

fn ctx() -> MacroContext {
    MacroContext::new(&Target::new("web1", Some("192.0.2.7".parse().unwrap())), "HTTP")
}

#[test]
fn macros_expand() {
    let c = ctx();
    assert_eq!(expand_macros("$HOSTADDRESS$", &c).unwrap(), "192.0.2.7");
    assert_eq!(expand_macros("-H$HOSTNAME$:$SERVICEDESC$", &c).unwrap(), "-Hweb1:HTTP");
    assert_eq!(expand_macros("price $$5 and $$$HOSTNAME$$$", &c).unwrap(), "price $5 and $web1$");
    assert_eq!(expand_macros("no macros, 'quotes' and blanks", &c).unwrap(), "no macros, 'quotes' and blanks");
    assert_eq!(expand_macros("", &c).unwrap(), "");
    // Values are not expanded again.
    let odd = MacroContext { host_name: s("$HOSTADDRESS$"), ..MacroContext::default() };
    assert_eq!(expand_macros("$HOSTNAME$", &odd).unwrap(), "$HOSTADDRESS$");
    let args = expand_args(&[s("-H"), s("$HOSTADDRESS$"), s("-w"), s("80")], &c).unwrap();
    assert_eq!(args, ["-H", "192.0.2.7", "-w", "80"]);
    // A host without an address: its name.
    let local = MacroContext::new(&Target::new("localhost", None), "Load");
    assert_eq!(expand_macros("$HOSTADDRESS$", &local).unwrap(), "localhost");
}

#[test]
fn bad_macros_are_errors() {
    let c = ctx();
    let err = expand_macros("-u $USER1$/x", &c).unwrap_err();
    assert_eq!(err, MacroError::Unknown { name: s("USER1"), arg: s("-u $USER1$/x") });
    assert!(err.to_string().contains("unknown macro $USER1$"), "{err}");
    assert!(matches!(expand_macros("$ARG1$", &c), Err(MacroError::Unknown { .. })));
    assert!(matches!(expand_macros("$hostname$", &c), Err(MacroError::Unknown { .. })), "names are case-sensitive");
    let err = expand_macros("cost: 5$", &c).unwrap_err();
    assert_eq!(err, MacroError::Unclosed { arg: s("cost: 5$") });
    assert!(err.to_string().contains("write $$ for a literal $"), "{err}");
    assert!(expand_args(&[s("ok"), s("$BAD$")], &c).is_err());
}

// --- Preview1 modules -------------------------------------------------------------

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

#[test]
fn preview1_commands_convert_and_others_are_refused_with_reasons() {
    let command = wat(r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start") (call 0 (i32.const 2))))"#);
    let component = preview1_to_component(&command).unwrap();
    assert!(wasmparser::Parser::is_component(&component));
    let text = String::from_utf8_lossy(&component);
    assert!(text.contains("exit-with-code") && text.contains("wasi:cli/run"), "proc_exit rerouted, run exported");

    let reactor = wat(r#"(module (memory (export "memory") 1) (func (export "_initialize")))"#);
    assert!(preview1_to_component(&reactor).unwrap_err().contains("it is a WASI preview1 reactor"));
    let empty = wat("(module)");
    assert!(preview1_to_component(&empty).unwrap_err().contains("without a _start function"));
    let env = wat(r#"(module (import "env" "emscripten_thing" (func)) (func (export "_start")))"#);
    let err = preview1_to_component(&env).unwrap_err();
    assert!(err.contains("it imports env.emscripten_thing, which wasmon does not provide"), "{err}");
    let old = wat(
        r#"(module (import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (func (export "_start")))"#,
    );
    assert!(preview1_to_component(&old).unwrap_err().contains("WASI snapshot 0"));
    let threads =
        wat(r#"(module (import "wasi" "thread-spawn" (func (param i32) (result i32))) (func (export "_start")))"#);
    assert!(preview1_to_component(&threads).unwrap_err().contains("WASI threads"));
    // A preview1 function the adapter does not have.
    let unknown = wat(
        r#"(module (import "wasi_snapshot_preview1" "no_such_call" (func)) (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let err = preview1_to_component(&unknown).unwrap_err();
    assert!(
        err.starts_with("it cannot be made a component with the WASI preview1 adapter: ") && !err.contains('\n'),
        "{err}"
    );
    assert!(preview1_to_component(b"\0asm\x01\0\0\0garbage").unwrap_err().contains("not a valid WebAssembly module"));
}

/// A large custom section is left out of the conversion (a 200 MB one
/// cost 1 GB); the `name` section stays, for backtraces.
#[test]
fn preview1_conversion_leaves_custom_sections_out() {
    let mut module = wat(r#"(module
        (memory (export "memory") 1)
        (func $hostile_start (export "_start")))"#);
    let section = |name: &str, len: usize| {
        let mut body = Vec::new();
        leb(&mut body, name.len());
        body.extend_from_slice(name.as_bytes());
        body.resize(body.len() + len, 7);
        let mut out = vec![0u8];
        leb(&mut out, body.len());
        out.extend_from_slice(&body);
        out
    };
    module.extend_from_slice(&section("hostile.big", 64 << 20));
    let component = preview1_to_component(&module).unwrap();
    assert!(component.len() < 1 << 20, "{} bytes", component.len());
    assert!(String::from_utf8_lossy(&component).contains("hostile_start"), "the name section is kept");
}

fn leb(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
