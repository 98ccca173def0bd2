//! Metric sinks against real servers on loopback: VictoriaMetrics takes
//! the InfluxDB, Graphite and OpenTSDB protocols, Prometheus scrapes the
//! exposition (and `promtool check metrics` lints it), an OTLP receiver
//! here decodes with the official protobuf types. And the outage: the
//! database down, `wasmon run` killed with SIGKILL and restarted, every
//! point arriving once and in order.

use std::process::{Command, Stdio};
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use serde_json::{Value, json};

use crate::support::{self, Daemon, wait_for};

#[path = "sink_servers.rs"]
mod servers;
use servers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sink_reaches_its_real_server_with_awkward_labels() {
    if !["/usr/bin/victoria-metrics", "/usr/bin/prometheus", "/usr/bin/promtool"].iter().all(|t| require(t)) {
        return;
    }
    let dir = support::temp_dir("sinks");
    let vm = Victoria::start(&dir);
    let (otlp, received) = otlp_receiver().await;
    let prom = free_port();
    let sinks = format!(
        "[[sink]]\nname = \"prom\"\ntype = \"prometheus\"\nlisten = \"127.0.0.1:{prom}\"\n\n\
         [[sink]]\nname = \"influx\"\ntype = \"influxdb\"\nurl = \"http://127.0.0.1:{}/write?db=wasmon\"\nflush_interval = \"50ms\"\n\n\
         [[sink]]\nname = \"graphite\"\ntype = \"graphite\"\naddress = \"127.0.0.1:{}\"\nflush_interval = \"50ms\"\n\n\
         [[sink]]\nname = \"tsdb\"\ntype = \"opentsdb\"\nurl = \"http://127.0.0.1:{}\"\nflush_interval = \"50ms\"\n\
         denormalize = [\"wasmon.service.a.b__host\"]\n\n\
         [[sink]]\nname = \"otel\"\ntype = \"otlp\"\nurl = \"http://127.0.0.1:{otlp}/v1/metrics\"\nflush_interval = \"50ms\"\n",
        vm.http, vm.graphite, vm.opentsdb
    );
    let file = config(&dir, &sinks);
    let d = Daemon::start(&file, &["-v"], &[]);
    let event = api(
        &d,
        "POST",
        "/api/v1/results",
        Some(json!({"host": "web1", "service": "Disk C:", "state": "OK", "output": AWKWARD})),
    )
    .await;
    assert_eq!(event["metrics"].as_array().unwrap().len(), 11, "{event}");
    // Every point is accepted: 11 metrics; Graphite and OpenTSDB cannot
    // hold the U (which has no thresholds either); OpenTSDB adds the
    // denormalised copy of a.b.
    for (name, sent) in [("prom", 11), ("influx", 11), ("graphite", 10), ("tsdb", 10), ("otel", 11)] {
        let s = wait_sink(&d, name, &format!("{sent} sent"), |s| s["sent"] == sent).await;
        assert_eq!(
            (s["dropped"].as_u64(), s["rejected"].as_u64(), s["spooled"].as_u64()),
            (Some(0), Some(0), Some(0)),
            "{s}"
        );
    }

    // InfluxDB line protocol: VictoriaMetrics names `measurement_field`.
    let series = vm.export("{db=\"wasmon\"}", 16).await;
    let influx = |metric: &str, unit: &str| {
        let mut l = vec![("host", "web1"), ("service", "Disk C:"), ("metric", metric)];
        if !unit.is_empty() {
            l.push(("unit", unit));
        }
        values(&series, "passive_value", &l)
    };
    assert_eq!(influx("C:/", "B"), [1.5e9]);
    assert_eq!(values(&series, "passive_warn", &[("metric", "C:/")]), [1e9]);
    assert_eq!(values(&series, "passive_crit", &[("metric", "C:/")]), [2e9]);
    for (label, v) in
        [("with space", 1.0), ("comma,here", 2.0), ("equals_sign", 3.0), ("\"quoted\"", 4.0), ("it's", 5.0)]
    {
        assert_eq!(influx(label, ""), [v], "{label}");
    }
    assert_eq!(influx("a.b", ""), [6.0]);
    assert_eq!(influx("c:d", ""), [7.0]);
    assert_eq!(influx("Größe", "s"), [0.008]);
    assert_eq!(influx("last", "B"), [9000.0]);
    assert_eq!(values(&series, "passive_unknown", &[("metric", "power")]), [1.0], "a U is kept as unknown");

    // Graphite plaintext, Icinga 2's paths.
    let series = vm.export("{__name__=~\"wasmon[.]web1[.].*\"}", 15).await;
    let path = |label: &str| format!("wasmon.web1.services.Disk_C_.passive.perfdata.{label}.value");
    assert_eq!(values(&series, &path("C__"), &[]), [1.5e9]);
    assert_eq!(values(&series, "wasmon.web1.services.Disk_C_.passive.perfdata.C__.warn", &[]), [1e9]);
    for (label, v) in [
        ("with_space", 1.0),
        ("comma_here", 2.0),
        ("equals_sign", 3.0),
        ("_quoted_", 4.0),
        ("it_s", 5.0),
        ("a_b", 6.0),
        ("c_d", 7.0),
        ("Größe", 0.008),
        ("last", 9000.0),
    ] {
        assert_eq!(values(&series, &path(label), &[]), [v], "{label}");
    }

    // OpenTSDB /api/put.
    let series = vm.export("{__name__=~\"(__web1[.])?wasmon[.]service[.].*\"}", 16).await;
    let tags = [("host", "web1"), ("service", "Disk_C_"), ("check", "passive")];
    assert_eq!(values(&series, "wasmon.service.C__", &[("unit", "B")]), [1.5e9]);
    for (label, v) in [
        ("with_space", 1.0),
        ("comma_here", 2.0),
        ("equals_sign", 3.0),
        ("_quoted_", 4.0),
        ("it_s", 5.0),
        ("a.b", 6.0),
        ("c_d", 7.0),
        ("Gr__e", 0.008),
    ] {
        assert_eq!(values(&series, &format!("wasmon.service.{label}"), &tags), [v], "{label}");
    }
    assert_eq!(values(&series, "__web1.wasmon.service.a.b", &tags), [6.0], "denormalised");

    // OTLP: labels exact, resource attributes host and service.
    let reqs = received.lock().unwrap().clone();
    let mut labels = Vec::new();
    for rm in reqs.iter().flat_map(|r| &r.resource_metrics) {
        let attrs: Vec<(String, String)> = rm
            .resource
            .as_ref()
            .unwrap()
            .attributes
            .iter()
            .map(|kv| {
                let Some(any_value::Value::StringValue(s)) = kv.value.as_ref().and_then(|v| v.value.clone()) else {
                    panic!()
                };
                (kv.key.clone(), s)
            })
            .collect();
        assert!(attrs.contains(&("host.name".into(), "web1".into())), "{attrs:?}");
        assert!(attrs.contains(&("wasmon.service.name".into(), "Disk C:".into())), "{attrs:?}");
        let m = &rm.scope_metrics[0].metrics[0];
        let Some(metric::Data::Gauge(g)) = &m.data else { panic!("a gauge") };
        let p = &g.data_points[0];
        let Some(any_value::Value::StringValue(label)) = p.attributes[0].value.as_ref().and_then(|v| v.value.clone())
        else {
            panic!()
        };
        if label == "C:\\" {
            assert_eq!((p.value, m.unit.as_str()), (Some(number_data_point::Value::AsDouble(1.5e9)), "By"));
        }
        labels.push(label);
    }
    labels.sort();
    let mut expected = [
        "C:\\",
        "with space",
        "comma,here",
        "equals_sign",
        "\"quoted\"",
        "it's",
        "a.b",
        "c:d",
        "Größe",
        "power",
        "last",
    ];
    expected.sort();
    assert_eq!(labels, expected);

    // Prometheus: promtool lints the exposition, a real scrape stores it.
    let text = reqwest::get(format!("http://127.0.0.1:{prom}/metrics")).await.unwrap().text().await.unwrap();
    println!("{text}");
    let mut promtool = Command::new("/usr/bin/promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut promtool.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "wasmon_metric_bytes{host=\"web1\",service=\"Disk C:\",check=\"passive\",label=\"C:\\\\\"} 1500000000.0\n"
        ),
        "{text}"
    );

    let web = free_port();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: wasmon\n    static_configs:\n      - targets: ['127.0.0.1:{prom}']\n"),
    )
    .unwrap();
    let _prometheus = Server::start(
        "/usr/bin/prometheus",
        &[
            format!("--config.file={}", dir.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.join("prom-data").display()),
            format!("--web.listen-address=127.0.0.1:{web}"),
        ],
        &dir.join("prometheus.log"),
    );
    let query = |q: &str| {
        let url = format!("http://127.0.0.1:{web}/api/v1/query");
        let q = q.to_string();
        async move {
            let r = reqwest::Client::new().get(url).query(&[("query", q)]).send().await.ok()?;
            let v: Value = r.json().await.ok()?;
            let result = v["data"]["result"].as_array()?.clone();
            (!result.is_empty()).then_some(result)
        }
    };
    let mut result = None;
    for _ in 0..600 {
        result = query("wasmon_metric_bytes").await;
        if result.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = result.expect("Prometheus scraped wasmon_metric_bytes");
    assert_eq!(result[0]["metric"]["label"], "C:\\");
    assert_eq!(result[0]["metric"]["service"], "Disk C:");
    assert_eq!(result[0]["value"][1], "1500000000");
    let ratio = query("wasmon_metric_seconds{label=\"Größe\"}").await.expect("the ms metric in seconds");
    assert_eq!(ratio[0]["value"][1], "0.008");
    let own = query("wasmon_sink_sent_total{sink=\"influx\"}").await.expect("the sinks' own counters");
    assert_eq!(own[0]["value"][1], "11");
}

/// Submits the passive result `seq=N`.
async fn submit(d: &Daemon, n: u32) {
    let body = json!({"host": "web1", "service": "Disk C:", "state": "OK", "output": format!("OK | seq={n}")});
    api(d, "POST", "/api/v1/results", Some(body)).await;
    // Results a few milliseconds apart: distinct timestamps.
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// The database down for a while, wasmon killed with SIGKILL and
/// restarted in between: every point arrives exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_and_a_kill_lose_nothing_and_repeat_nothing() {
    if !require("/usr/bin/victoria-metrics") {
        return;
    }
    let dir = support::temp_dir("sinks-outage");
    let mut vm = Victoria::start(&dir);
    let sinks = format!(
        "[[sink]]\nname = \"influx\"\ntype = \"influxdb\"\nurl = \"http://127.0.0.1:{}/write?db=outage\"\n\
         flush_interval = \"20ms\"\nretry_max = \"300ms\"\ntimeout = \"2s\"\nspool_points = 1000\n",
        vm.http
    );
    let file = config(&dir, &sinks);
    let mut first = Daemon::start(&file, &["-v"], &[]);
    for n in 1..=5 {
        submit(&first, n).await;
    }
    wait_sink(&first, "influx", "5 sent", |s| s["sent"] == 5).await;

    vm.server.stop();
    for n in 6..=15 {
        submit(&first, n).await;
    }
    let s = wait_sink(&first, "influx", "10 spooled", |s| s["spooled"] == 10).await;
    assert!(s["retries"].as_u64().unwrap() >= 1 && s["last_error"].is_string(), "{s}");
    first.kill(); // SIGKILL, with the database still down
    assert!(dir.join("wasmon.db.spool").exists());

    let second = Daemon::start(&file, &["-v"], &[]);
    wait_sink(&second, "influx", "the spool found again", |s| s["spooled"] == 10).await;
    for n in 16..=20 {
        submit(&second, n).await;
    }
    wait_sink(&second, "influx", "15 spooled", |s| s["spooled"] == 15).await;

    vm.restart();
    wait_sink(&second, "influx", "the spool sent", |s| s["spooled"] == 0 && s["sent"] == 15).await;
    for n in 21..=25 {
        submit(&second, n).await;
    }
    let s = wait_sink(&second, "influx", "20 sent", |s| s["sent"] == 20).await;
    assert_eq!((s["dropped"].as_u64(), s["rejected"].as_u64()), (Some(0), Some(0)), "{s}");

    // Points just written may take a moment to be searchable: wait for 25 (or give up and show what is there).
    let count = |series: &[Value]| {
        series
            .iter()
            .filter(|s| s["metric"]["__name__"] == "passive_value")
            .map(|s| s["values"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    };
    let mut series = vm.export("{db=\"outage\"}", 1).await;
    for _ in 0..100 {
        if count(&series) >= 25 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        series = vm.export("{db=\"outage\"}", 1).await;
    }
    let found: Vec<&Value> = series.iter().filter(|s| s["metric"]["__name__"] == "passive_value").collect();
    assert_eq!(found.len(), 1, "{}", dump(&series));
    let got: Vec<f64> = found[0]["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let timestamps = found[0]["timestamps"].as_array().unwrap();
    let expected: Vec<f64> = (1..=25).map(f64::from).collect();
    // VictoriaMetrics returns a series' samples by time (the results'
    // times): 1..25, each once, is none lost and none repeated. (The order
    // they were sent in is the spool's, oldest first: its unit test.)
    assert_eq!(got, expected, "timestamps {timestamps:?}");
}

/// The formats' own parsers: Debian's InfluxDB 1.x (whose batches a
/// trailing backslash breaks) and carbon-cache writing Whisper files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influxdb_and_carbon_take_every_awkward_label() {
    if !["/usr/bin/influxd", "/usr/bin/carbon-cache", "/usr/bin/whisper-fetch"].iter().all(|t| require(t)) {
        return;
    }
    let dir = support::temp_dir("sinks-own");
    let (influx, rpc) = (free_port(), free_port());
    let d = dir.display();
    std::fs::write(
        dir.join("influxdb.conf"),
        format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n[meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{influx}\"\n  log-enabled = false\n"
        ),
    )
    .unwrap();
    let _influxd =
        Server::start("/usr/bin/influxd", &["-config".into(), format!("{d}/influxdb.conf")], &dir.join("influxd.log"));
    let (line, pickle, query) = (free_port(), free_port(), free_port());
    std::fs::create_dir_all(dir.join("whisper")).unwrap();
    std::fs::write(
        dir.join("carbon.conf"),
        format!(
            "[cache]\nSTORAGE_DIR = {d}\nLOCAL_DATA_DIR = {d}/whisper\nWHITELISTS_DIR = {d}\nCONF_DIR = {d}\n\
             LOG_DIR = {d}\nPID_DIR = {d}\nENABLE_LOGROTATION = False\nUSER =\n\
             LINE_RECEIVER_INTERFACE = 127.0.0.1\nLINE_RECEIVER_PORT = {line}\nENABLE_UDP_LISTENER = False\n\
             PICKLE_RECEIVER_INTERFACE = 127.0.0.1\nPICKLE_RECEIVER_PORT = {pickle}\n\
             CACHE_QUERY_INTERFACE = 127.0.0.1\nCACHE_QUERY_PORT = {query}\n\
             MAX_CREATES_PER_MINUTE = inf\nMAX_UPDATES_PER_SECOND = inf\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("storage-schemas.conf"), "[all]\npattern = .*\nretentions = 1s:1d\n").unwrap();
    let _carbon = Server::start(
        "/usr/bin/carbon-cache",
        &[
            format!("--config={d}/carbon.conf"),
            "--nodaemon".into(),
            format!("--pidfile={d}/carbon.pid"),
            "start".into(),
        ],
        &dir.join("carbon.log"),
    );
    let client = reqwest::Client::new();
    let q = format!("http://127.0.0.1:{influx}/query");
    for _ in 0..300 {
        let created = client.post(&q).form(&[("q", "CREATE DATABASE wasmon")]).send().await;
        if created.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for("carbon-cache to listen", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", line)).is_ok()
    });

    let sinks = format!(
        "[[sink]]\nname = \"influx\"\ntype = \"influxdb\"\nurl = \"http://127.0.0.1:{influx}/write?db=wasmon&precision=s\"\nflush_interval = \"50ms\"\n\n\
         [[sink]]\nname = \"graphite\"\ntype = \"graphite\"\naddress = \"127.0.0.1:{line}\"\nflush_interval = \"50ms\"\n"
    );
    let file = config(&dir, &sinks);
    let wasmon = Daemon::start(&file, &["-v"], &[]);
    api(
        &wasmon,
        "POST",
        "/api/v1/results",
        Some(json!({"host": "web1", "service": "Disk C:", "state": "OK", "output": AWKWARD})),
    )
    .await;
    for (name, sent) in [("influx", 11), ("graphite", 10)] {
        let s = wait_sink(&wasmon, name, &format!("{sent} sent"), |s| s["sent"] == sent).await;
        assert_eq!(s["rejected"], 0, "{s}");
    }

    // InfluxDB 1.x stored every line of the batch, tags as documented.
    let answer: Value = client
        .post(&q)
        .form(&[("db", "wasmon"), ("q", "SELECT value, unknown, warn FROM passive GROUP BY metric")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let series = answer["results"][0]["series"].as_array().unwrap_or_else(|| panic!("{answer}"));
    let mut got: Vec<(String, Option<f64>)> = series
        .iter()
        .map(|s| (s["tags"]["metric"].as_str().unwrap().to_string(), s["values"][0][1].as_f64()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, Option<f64>)> = [
        ("C:/", Some(1.5e9)),
        ("with space", Some(1.0)),
        ("comma,here", Some(2.0)),
        ("equals_sign", Some(3.0)),
        ("\"quoted\"", Some(4.0)),
        ("it's", Some(5.0)),
        ("a.b", Some(6.0)),
        ("c:d", Some(7.0)),
        ("Größe", Some(0.008)),
        ("power", None),
        ("last", Some(9000.0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, expected, "{answer}");

    // carbon-cache wrote a Whisper file per path, the value in it.
    let base = dir.join("whisper/wasmon/web1/services/Disk_C_/passive/perfdata");
    for (label, v) in
        [("C__", "1500000000.000000"), ("with_space", "1.000000"), ("Größe", "0.008000"), ("last", "9000.000000")]
    {
        let file = base.join(label).join("value.wsp");
        wait_for(&format!("{}", file.display()), Duration::from_secs(30), || file.exists());
        let mut out = String::new();
        wait_for("the point in the file", Duration::from_secs(30), || {
            let o = Command::new("/usr/bin/whisper-fetch").args(["--from=0", file.to_str().unwrap()]).output().unwrap();
            out = String::from_utf8_lossy(&o.stdout).into_owned();
            out.lines().any(|l| !l.ends_with("None"))
        });
        let value = out.lines().find(|l| !l.ends_with("None")).unwrap().split('\t').nth(1).unwrap();
        assert_eq!(value, v, "{label}");
    }
}
