"""Native unit tests of the http_json check's logic:

    python3 -m unittest discover -s checks/python/http_json

(The SDK is found through the repository layout; the request itself, in
fetch.py, is tested end to end by tests/all/lang_python.rs.)
"""

import doctest
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python"))

import http_json  # noqa: E402
from http_json import (  # noqa: E402
    PARAMS, FetchError, HttpJson, Response, evaluate, failure_text, parse_settings,
)
from wasmon_check import BadParams, CheckRequest, Levels, State  # noqa: E402


def request(params=(), name="web1", address="192.0.2.10", timeout_ms=10_000):
    return CheckRequest.new(name, address, params, timeout_ms)


def settings(**params):
    return parse_settings(request(list(params.items())))


def bad(params, name="web1", address="192.0.2.10"):
    try:
        parse_settings(request(params, name, address))
    except BadParams as e:
        return e.message
    raise AssertionError(f"accepted {params}")


def judge(document, status=200, elapsed=0.012, **params):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return evaluate(settings(**params), Response(status, body), elapsed)


def metrics(out):
    return {m.label: m for m in out.metrics}


class DescribeTest(unittest.TestCase):
    def test_documents_exactly_the_accepted_params(self):
        info = HttpJson().describe()
        self.assertEqual([p.name for p in info.params], PARAMS)
        self.assertEqual(info.name, "http_json")
        self.assertRegex(info.version, r"^\d+\.\d+\.\d+$")
        self.assertRegex(info.title, r"^[^:]+: .+")
        for word in ("OK", "WARN", "CRIT"):
            self.assertIn(word, info.manpage.description)
        for p in info.params:
            self.assertRegex(p.name, r"^[a-z_][a-z0-9_]*$")
            self.assertTrue(p.description.strip(), p.name)
            threshold = any(t in p.name for t in ("warn", "crit", "level", "threshold"))
            if threshold and p.default_value is not None:
                self.assertTrue(p.default_source, f"{p.name}: default threshold without its source")
            if p.default_source and not threshold:
                self.assertIsNotNone(p.default_value, p.name)

    def test_documented_defaults_are_the_real_ones(self):
        info = {p.name: p for p in HttpJson().describe().params}
        s = settings()
        self.assertEqual(info["path"].default_value, s.path)
        self.assertEqual(info["status_field"].default_value, s.status_field)
        self.assertEqual(info["ok_values"].default_value, ",".join(s.ok_values))
        self.assertEqual(info["warn_values"].default_value, ",".join(s.warn_values))
        self.assertEqual(info["crit_values"].default_value, ",".join(s.crit_values))
        self.assertTrue(info["max_body"].default_value.startswith(str(s.max_body)))
        self.assertEqual(info["timeout"].default_value, "10s")


class SettingsTest(unittest.TestCase):
    def test_defaults(self):
        s = parse_settings(request(timeout_ms=60_000))
        self.assertEqual((s.tls, s.host, s.port, s.path), (False, "web1", 80, "/health"))
        self.assertEqual(s.url, "http://web1:80/health")
        self.assertEqual(s.status_field, "status")
        self.assertTrue(s.auto_fields)
        self.assertEqual(s.fields, [])
        self.assertTrue(s.response_levels.is_none())
        self.assertEqual((s.timeout, s.max_body), (10.0, 1 << 20))

    def test_url_parts(self):
        s = settings(scheme="HTTPS", path="status?verbose=1")
        self.assertEqual((s.tls, s.port, s.path), (True, 443, "/status?verbose=1"))
        self.assertEqual(settings(port="8080").authority, "web1:8080")
        v6 = parse_settings(request(name="", address="::1"))
        self.assertEqual(v6.authority, "[::1]:80")
        self.assertEqual(parse_settings(request(name="", address="192.0.2.1")).host, "192.0.2.1")

    def test_bad_params_name_the_parameter(self):
        for params, message in [
            ([("porrt", "80")], "unknown parameter 'porrt' (this check understands: scheme, port, "),
            ([("port", "0")], "parameter 'port': expected an integer from 1 to 65535, got '0'"),
            ([("scheme", "ftp")], "parameter 'scheme': expected http or https, got 'ftp'"),
            ([("path", "/a b")], "parameter 'path': '/a b' contains blanks or control characters"),
            ([("ok_values", " , ")], "parameter 'ok_values': give at least one value"),
            ([("crit_values", "down,OK")], "parameter 'crit_values': 'ok' is also listed as a better state"),
            ([("fields", "a:km")], "parameter 'fields': unit 'km' of 'a' is not one of s, ms, B, %, c"),
            ([("fields", ":s")], "parameter 'fields': entry ':s' has no field path"),
            ([("fields", "a,a")], "parameter 'fields': 'a' is listed twice"),
            ([("fields", "a.b,a_b")], "parameter 'fields': 'a.b' and 'a_b' both become metric 'a_b'"),
            ([("levels", "depth:1")], "parameter 'levels': expected entries FIELD:WARN:CRIT separated by commas, got 'depth:1'"),
            ([("levels", "depth:1:x")], "parameter 'levels': 'depth:1:x': WARN and CRIT must be numbers"),
            ([("levels", "depth:1:inf")], "parameter 'levels': 'depth:1:inf': WARN and CRIT must be numbers"),
            ([("levels", "d:1:2,d:3:4")], "parameter 'levels': 'd' is listed twice"),
            ([("max_body", str(8 << 20))], "parameter 'max_body': expected an integer from 0 to 4194304, got '8388608'"),
            ([("warning", "1")], "parameter 'warning' is given without 'critical': give both or neither"),
            ([("timeout", "0")], "parameter 'timeout': expected a duration of more than 0 seconds, got '0'"),
        ]:
            with self.subTest(params=params):
                self.assertTrue(bad(params).startswith(message), bad(params))
        self.assertEqual(bad([], name="", address=""), "this check needs a target host (-H) to send its request to")

    def test_fields_and_levels(self):
        s = settings(fields="queue.depth, latency_ms:ms, disk.used:%", levels="latency_ms:200:500,workers:10:20",
                     levels_lower="workers:2:1")
        self.assertFalse(s.auto_fields)
        by_path = {f.path: f for f in s.fields}
        self.assertEqual(list(by_path), ["queue.depth", "latency_ms", "disk.used", "workers"])
        latency = by_path["latency_ms"]
        self.assertEqual((latency.label, latency.name, latency.uom, latency.factor), ("latency", "Latency", "s", 1e-3))
        self.assertEqual(latency.levels, Levels.at_or_above(0.2, 0.5), "levels in ms become seconds")
        self.assertEqual(by_path["workers"].levels, Levels.both((10, 20), (2, 1)))
        self.assertEqual(by_path["disk.used"].uom, "%")
        self.assertEqual(settings(fields="").fields, [])
        self.assertFalse(settings(fields="").auto_fields)
        self.assertIsNone(settings(status_field="").status_field)

    def test_timeout_stays_within_the_host_budget(self):
        self.assertEqual(parse_settings(request([("timeout", "30s")], timeout_ms=10_000)).timeout, 9.0)
        self.assertEqual(parse_settings(request([("timeout", "500ms")])).timeout, 0.5)


class EvaluateTest(unittest.TestCase):
    def test_ok_with_top_level_numbers_as_metrics(self):
        out = judge({"status": "ok", "connections": 5, "load": 0.25, "healthy": True, "name": "db",
                     "queue": {"depth": 3}}, elapsed=0.0063)
        self.assertEqual(out.state, State.OK)
        self.assertEqual(out.summary, "Status: ok, Connections: 5, Load: 0.25, Response time: 6.3 ms")
        m = metrics(out)
        self.assertEqual(list(m), ["connections", "load", "response_time"])
        self.assertEqual((m["load"].value, m["load"].uom, m["load"].warn), (0.25, "", None))
        self.assertEqual((m["response_time"].value, m["response_time"].max), (0.0063, 9.0))

    def test_status_values_map_to_states(self):
        for value, state in [("ok", State.OK), ("UP", State.OK), ("pass", State.OK), (True, State.OK),
                             ("degraded", State.WARNING), ("Warn", State.WARNING),
                             ("down", State.CRITICAL), ("OUT_OF_SERVICE", State.CRITICAL), (False, State.CRITICAL),
                             ("rebooting", State.UNKNOWN), (7, State.UNKNOWN)]:
            with self.subTest(value=value):
                out = judge({"status": value}, fields="")
                self.assertEqual(out.state, state, out.summary)
        out = judge({"status": "rebooting"}, fields="")
        self.assertEqual(out.partials[0].summary, "Status: rebooting (not a known value)")
        self.assertIn("WARN: warn, warning, degraded", out.partials[0].details)
        self.assertEqual(judge({"status": True}, fields="").partials[0].summary, "Status: true")

    def test_configured_names_and_nested_status(self):
        doc = {"health": {"state": "amber"}, "checks": [{"status": "red"}]}
        out = judge(doc, status_field="health.state", ok_values="green", warn_values="amber", crit_values="red")
        self.assertEqual((out.state, out.partials[0].summary), (State.WARNING, "Health state: amber"))
        out = judge(doc, status_field="checks.0.status", ok_values="green", warn_values="amber", crit_values="red")
        self.assertEqual((out.state, out.partials[0].summary), (State.CRITICAL, "Checks 0 status: red"))

    def test_a_missing_or_odd_status_field_is_unknown(self):
        out = judge({"state": "ok"})
        self.assertEqual((out.state, out.partials[0].summary), (State.UNKNOWN, "Status: field 'status' not in the response"))
        out = judge({"status": {"db": "ok"}})
        self.assertEqual(out.partials[0].summary, "Status: field 'status' is an object, expected a text")
        out = judge({"status": None})
        self.assertEqual(out.partials[0].summary, "Status: field 'status' is null, expected a text")
        out = judge(["ok"], fields="")
        self.assertEqual(out.state, State.UNKNOWN)
        self.assertEqual(judge({"x": 1}, status_field="").state, State.OK, "no status field asked for")

    def test_field_levels_units_and_perfdata(self):
        doc = {"status": "ok", "queue": {"depth": 120}, "latency_ms": 250, "disk": {"used": 91.5},
               "workers": {"idle": 1}, "bytes": 3 * 1024 ** 2}
        out = judge(doc, fields="queue.depth,latency_ms:ms,disk.used:%,bytes:B",
                    levels="queue.depth:100:500,latency_ms:200:500,disk.used:80:90", levels_lower="workers.idle:2:1")
        self.assertEqual(out.state, State.CRITICAL)
        self.assertEqual(
            [p.summary for p in out.partials],
            ["Status: ok", "Queue depth: 120 (warn/crit at 100/500)", "Latency: 250 ms (warn/crit at 200 ms/500 ms)",
             "Disk used: 91.5% (warn/crit at 80%/90%)", "Bytes: 3.00 MiB", "Workers idle: 1 (warn/crit below 2/1)",
             "Response time: 12 ms"],
        )
        self.assertEqual([p.state for p in out.partials],
                         [State.OK, State.WARNING, State.WARNING, State.CRITICAL, State.OK, State.WARNING, State.OK])
        m = metrics(out)
        self.assertEqual((m["latency"].value, m["latency"].uom, str(m["latency"].warn), str(m["latency"].crit)),
                         (0.25, "s", "0.2", "0.5"))
        self.assertEqual((m["disk_used"].min, m["disk_used"].max, m["disk_used"].uom), (0.0, 100.0, "%"))
        self.assertEqual((str(m["workers_idle"].warn), str(m["workers_idle"].crit)), ("2:", "1:"))
        self.assertEqual(m["bytes"].uom, "B")

    def test_bad_fields_are_unknown_and_get_no_metric(self):
        out = judge({"status": "ok", "a": "12", "b": True, "p": 120}, fields="a,b,c,p:%")
        self.assertEqual(out.state, State.UNKNOWN)
        self.assertEqual([p.summary for p in out.partials[1:4]], [
            "A: field 'a' is a text, expected a number",
            "B: field 'b' is a boolean, expected a number",
            "C: field 'c' not in the response",
        ])
        self.assertEqual(out.partials[4].summary, "P: 120 is not a percentage from 0 to 100")
        self.assertEqual(list(metrics(out)), ["response_time"])

    def test_http_errors_are_critical_and_a_json_body_still_counts(self):
        out = judge({"status": "down"}, status=503)
        self.assertEqual(out.state, State.CRITICAL)
        self.assertEqual(out.summary, "HTTP status: 503 Service Unavailable, Status: down, Response time: 12 ms")
        out = judge(b"<html>Not here</html>", status=404)
        self.assertEqual(out.summary, "HTTP status: 404 Not Found, Response time: 12 ms")
        self.assertEqual(out.partials[0].details, "Response is not valid JSON: Expecting value at line 1 column 1")
        self.assertEqual(judge(b"", status=599).partials[0].summary, "HTTP status: 599")

    def test_bad_json_is_unknown_with_where_it_breaks(self):
        out = judge(b'{"status": "ok",,}')
        self.assertEqual(out.state, State.UNKNOWN)
        self.assertEqual(out.partials[0].summary,
                         "Response is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 17")
        self.assertEqual(out.partials[0].details, "Body starts: '{\"status\": \"ok\",,}'")
        self.assertEqual(judge(b"  \n").partials[0].summary, "Response body is empty, expected JSON")
        self.assertEqual(judge(b'{"status": NaN}').partials[0].summary, "Response is not valid JSON: NaN is not a JSON number")
        self.assertEqual(judge(b'\xff\xfe{').partials[0].summary.split(":")[0], "Response body is not UTF-8 text, expected JSON".split(":")[0])
        truncated = evaluate(settings(), Response(200, b'{"status": "ok", "pad": "' + b"x" * 100, True), 0.01)
        self.assertEqual(truncated.partials[0].summary, "Response body larger than max_body (125 B), not parsed")
        self.assertEqual(truncated.state, State.UNKNOWN)

    def test_response_time_levels(self):
        out = judge({"status": "ok"}, elapsed=1.5, warning="1", critical="2")
        self.assertEqual(out.state, State.WARNING)
        self.assertEqual(out.partials[-1].summary, "Response time: 1.50 s (warn/crit at 1.00 s/2.00 s)")
        self.assertEqual(str(metrics(out)["response_time"].crit), "2")

    def test_every_summary_keeps_the_output_rules(self):
        outs = [judge({"status": "ok", "p": 50}, fields="p:%"), judge(b"x"), judge({"status": "down"}, status=500)]
        for out in outs:
            self.assertNotIn("\n", out.summary)
            self.assertIsNone(re.search(r"\d %", out.summary), out.summary)


class FailureTest(unittest.TestCase):
    def test_messages_follow_check_http(self):
        s = settings(port="8080", timeout="2.5")
        for error, text in [
            (FetchError("Timeout"), "Socket timeout after 2.5 seconds"),
            (FetchError("ConnectionTimeout"), "Socket timeout after 2.5 seconds"),
            (FetchError("ConnectionRefused"), "Connect to web1:8080: Connection refused"),
            (FetchError("HttpRequestDenied"), "Request to web1:8080 not allowed by the sandbox policy"),
            (FetchError("DnsError", "NXDOMAIN"), "DNS lookup of web1 failed: NXDOMAIN"),
            (FetchError("TlsCertificateError"), "TLS certificate of web1:8080 not valid"),
            (FetchError("Request", "invalid path '/x'"), "Invalid request for http://web1:8080/health: invalid path '/x'"),
            (FetchError("LoopDetected"), "Request to web1:8080 failed: LoopDetected"),
            (FetchError("InternalError", "boom"), "Request to web1:8080 failed: InternalError (boom)"),
        ]:
            self.assertEqual(failure_text(error, s), text)


class CheckTest(unittest.TestCase):
    """HttpJson.check with a fake fetch in place of wasi:http."""

    def test_a_response_is_judged(self):
        seen = []

        def fetch(s, deadline):
            seen.append((s.url, s.timeout))
            return Response(200, b'{"status": "degraded", "depth": 3}')

        out = HttpJson(fetch).check(request([("port", "9000")]))
        self.assertEqual(seen, [("http://web1:9000/health", 9.0)])
        self.assertEqual(out.state, State.WARNING)
        self.assertTrue(out.summary.startswith("Status: degraded, Depth: 3, Response time: "), out.summary)

    def test_no_response_is_critical(self):
        def fetch(s, deadline):
            raise FetchError("ConnectionRefused")

        out = HttpJson(fetch).check(request())
        self.assertEqual((out.state, out.summary), (State.CRITICAL, "Connect to web1:80: Connection refused"))
        self.assertEqual(out.metrics, [])

    def test_bad_params_come_before_the_request(self):
        def fetch(s, deadline):
            raise AssertionError("no request with bad parameters")

        with self.assertRaises(BadParams):
            HttpJson(fetch).check(request([("port", "x")]))


def load_tests(loader, tests, ignore):
    tests.addTests(doctest.DocTestSuite(http_json))
    return tests


if __name__ == "__main__":
    unittest.main()
