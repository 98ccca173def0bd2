use super::*;

fn bad(e: CheckError) -> String {
    match e {
        CheckError::BadParams(msg) => msg,
        other => panic!("expected BadParams, got {other:?}"),
    }
}

#[test]
fn last_duplicate_wins() {
    let l = Param::list(&[("port", "80"), ("host", "x"), ("port", "8080")]);
    let p = params(&l);
    assert_eq!(p.get("port"), Some("8080"));
    assert_eq!(p.get("nope"), None);
    assert_eq!(p.parse::<u16>("port", 1).unwrap(), 8080);
    assert_eq!(p.iter().count(), 3);
}

#[test]
fn parse_errors_name_parameter_expectation_and_value() {
    let l = Param::list(&[("port", "abc"), ("big", "70000"), ("n", "1e3x"), ("zero", "0")]);
    let p = params(&l);
    assert_eq!(
        bad(p.parse::<u16>("port", 80).unwrap_err()),
        "parameter 'port': expected an integer from 0 to 65535, got 'abc'"
    );
    assert_eq!(
        bad(p.parse_in::<u16>("port", 80, 1..=65535).unwrap_err()),
        "parameter 'port': expected an integer from 1 to 65535, got 'abc'"
    );
    assert_eq!(
        bad(p.parse_in::<u16>("zero", 80, 1..=65535).unwrap_err()),
        "parameter 'zero': expected an integer from 1 to 65535, got '0'"
    );
    assert_eq!(
        bad(p.parse::<u16>("big", 80).unwrap_err()),
        "parameter 'big': expected an integer from 0 to 65535, got '70000'"
    );
    assert_eq!(bad(p.number("n", 0.0).unwrap_err()), "parameter 'n': expected a number, got '1e3x'");
    assert_eq!(p.parse_in::<f64>("missing", 2.5, 0.0..=10.0).unwrap(), 2.5);
    let l = Param::list(&[("x", "5")]);
    assert_eq!(
        bad(params(&l).parse_in::<f64>("x", 1.0, 0.0..=1.0).unwrap_err()),
        "parameter 'x': expected a number from 0 to 1, got '5'"
    );
}

#[test]
fn required_and_defaults() {
    let l = Param::list(&[("count", " 3 ")]);
    let p = params(&l);
    assert_eq!(p.required::<u32>("count").unwrap(), 3);
    assert_eq!(bad(p.required::<u32>("size").unwrap_err()), "parameter 'size' is required");
    assert_eq!(p.parse::<u32>("size", 7).unwrap(), 7);
    assert_eq!(p.optional::<String>("text").unwrap(), None);
}

#[test]
fn numbers_refuse_nan_and_infinity() {
    let l = Param::list(&[("a", "nan"), ("b", "inf"), ("c", "-1.5")]);
    let p = params(&l);
    assert!(p.number("a", 0.0).is_err());
    assert!(p.number("b", 0.0).is_err());
    assert_eq!(p.number("c", 0.0).unwrap(), -1.5);
}

#[test]
fn durations() {
    let l = Param::list(&[
        ("a", "10s"),
        ("b", "500ms"),
        ("c", "2m"),
        ("d", "1.5"),
        ("e", "1h"),
        ("f", "2min"),
        ("g", "-1s"),
        ("h", "10 parsecs"),
        ("i", "s"),
        ("j", "250us"),
    ]);
    let p = params(&l);
    let d = |n| p.duration(n, Duration::ZERO);
    assert_eq!(d("a").unwrap(), Duration::from_secs(10));
    assert_eq!(d("b").unwrap(), Duration::from_millis(500));
    assert_eq!(d("c").unwrap(), Duration::from_secs(120));
    assert_eq!(d("d").unwrap(), Duration::from_millis(1500));
    assert_eq!(d("e").unwrap(), Duration::from_secs(3600));
    assert_eq!(d("f").unwrap(), Duration::from_secs(120));
    assert_eq!(d("j").unwrap(), Duration::from_micros(250));
    assert_eq!(d("zz").unwrap(), Duration::ZERO);
    for n in ["g", "h", "i"] {
        let msg = bad(d(n).unwrap_err());
        assert!(msg.starts_with(&format!("parameter '{n}': expected a duration such as 10s")), "{msg}");
        assert!(msg.ends_with(&format!("got '{}'", p.get(n).unwrap())), "{msg}");
    }
}

#[test]
fn booleans() {
    let l = Param::list(&[("a", "Yes"), ("b", "off"), ("c", "1"), ("d", "maybe")]);
    let p = params(&l);
    assert!(p.bool("a", false).unwrap());
    assert!(!p.bool("b", true).unwrap());
    assert!(p.bool("c", false).unwrap());
    assert!(p.bool("zz", true).unwrap());
    assert_eq!(
        bad(p.bool("d", false).unwrap_err()),
        "parameter 'd': expected true or false (also yes/no, on/off, 1/0), got 'maybe'"
    );
}

#[test]
fn states_ranges_and_thresholds() {
    let l = Param::list(&[("state", "crit"), ("bad", "nope"), ("w", "10:"), ("c", "20:10")]);
    let p = params(&l);
    assert_eq!(p.state("state", State::Ok).unwrap(), State::Critical);
    assert_eq!(p.state("none", State::Warning).unwrap(), State::Warning);
    assert_eq!(
        bad(p.state("bad", State::Ok).unwrap_err()),
        "parameter 'bad': expected a state (OK, WARNING, CRITICAL, UNKNOWN, WARN, CRIT or 0-3), got 'nope'"
    );
    assert_eq!(p.range("w").unwrap(), Some(Range::lower(10.0)));
    assert_eq!(p.range("zz").unwrap(), None);
    assert_eq!(
        bad(p.thresholds("w", "c").unwrap_err()),
        "parameter 'c': invalid range '20:10': start 20 is greater than end 10; expected N, N:, ~:N, N:M or @N:M"
    );
}

#[test]
fn level_pairs() {
    let l = Param::list(&[("warning", "70"), ("critical", "95"), ("w2", "x")]);
    let p = params(&l);
    assert_eq!(p.levels_upper("warning", "critical", Some((80.0, 90.0))).unwrap(), Levels::upper(70.0, 95.0));
    assert_eq!(p.levels_upper("warning", "crit2", Some((80.0, 90.0))).unwrap(), Levels::upper(70.0, 90.0));
    assert_eq!(p.levels_lower("warn2", "critical", Some((20.0, 10.0))).unwrap(), Levels::lower(20.0, 95.0));
    assert_eq!(p.levels_upper("a", "b", Some((1.0, 2.0))).unwrap(), Levels::upper(1.0, 2.0));
    assert_eq!(p.levels_upper("a", "b", None).unwrap(), Levels::none());
    assert_eq!(
        bad(p.levels_upper("warning", "b", None).unwrap_err()),
        "parameter 'warning' is given without 'b': give both or neither"
    );
    assert_eq!(bad(p.levels_upper("w2", "critical", None).unwrap_err()), "parameter 'w2': expected a number, got 'x'");
}

#[test]
fn amounts() {
    let l = Param::list(&[("a", "20%"), ("b", "10GB"), ("c", "10"), ("d", "120%"), ("e", "1.5 t"), ("f", "x%")]);
    let p = params(&l);
    assert_eq!(p.amount("a").unwrap(), Some(Amount::Percent(20.0)));
    assert_eq!(p.amount("b").unwrap(), Some(Amount::Bytes(10.0 * 1024f64.powi(3))));
    assert_eq!(p.amount("e").unwrap(), Some(Amount::Bytes(1.5 * 1024f64.powi(4))));
    assert_eq!(p.amount("zz").unwrap(), None);
    for n in ["c", "d", "f"] {
        let msg = bad(p.amount(n).unwrap_err());
        assert!(msg.starts_with(&format!("parameter '{n}': expected a percentage from 0% to 100%")), "{msg}");
    }
    assert_eq!(Amount::Percent(20.0).to_string(), "20%");
    assert_eq!(Amount::Bytes(1024.0).to_string(), "1.00 KiB");
    assert_eq!(parse_bytes("7B"), Some(7.0));
    assert_eq!(parse_bytes("2 KiB"), Some(2048.0));
    assert_eq!(parse_bytes("-2KiB"), None);
    assert_eq!(parse_bytes("GiB"), None);
}

#[test]
fn unknown_names_are_rejected() {
    let l = Param::list(&[("port", "80"), ("prot", "tcp")]);
    let p = params(&l);
    assert!(p.reject_unknown(&["port", "prot"]).is_ok());
    assert_eq!(
        bad(p.reject_unknown(&["port", "timeout"]).unwrap_err()),
        "unknown parameter 'prot' (this check understands: port, timeout)"
    );
    assert_eq!(bad(p.reject_unknown(&[]).unwrap_err()), "unknown parameter 'port' (this check understands: none)");
}

#[test]
fn request_views() {
    let req = CheckRequest::new("h", "", &[("a", "1")], 10_000);
    assert_eq!((req.target.name.as_str(), req.target.address.as_str(), req.timeout_ms), ("h", "", 10_000));
    assert_eq!(req.params().get("a"), Some("1"));
    assert!(matches!(req.required_item(), Err(CheckError::BadParams(_))));
    let with_item = CheckRequest { item: Some("/".into()), ..req };
    assert_eq!(with_item.required_item().unwrap(), "/");
}

#[test]
fn io_timeout_stays_within_the_host_budget() {
    let req = |timeout: Option<&str>, timeout_ms| match timeout {
        Some(t) => CheckRequest::new("h", "", &[("timeout", t)], timeout_ms),
        None => CheckRequest::new("h", "", &[], timeout_ms),
    };
    let ten = Duration::from_secs(10);
    assert_eq!(req(None, 10_000).io_timeout(ten).unwrap(), Duration::from_secs(9));
    assert_eq!(req(None, 60_000).io_timeout(ten).unwrap(), ten);
    assert_eq!(req(Some("2s"), 10_000).io_timeout(ten).unwrap(), Duration::from_secs(2));
    assert_eq!(req(Some("30"), 10_000).io_timeout(ten).unwrap(), Duration::from_secs(9));
    assert_eq!(req(None, 0).io_timeout(ten).unwrap(), ten, "no budget known");
    assert!(bad(req(Some("0"), 10_000).io_timeout(ten).unwrap_err()).contains("parameter 'timeout'"));
    assert!(bad(req(Some("soon"), 10_000).io_timeout(ten).unwrap_err()).contains("got 'soon'"));
}
