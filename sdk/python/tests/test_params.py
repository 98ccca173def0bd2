import unittest

from wasmon_check import Amount, BadParams, CheckRequest, Levels, Params, Range, State, parse_bytes, parse_state


def bad(fn, *args):
    try:
        fn(*args)
    except BadParams as e:
        return e.message
    raise AssertionError(f"{fn.__name__}{args} did not raise BadParams")


class ParamsTest(unittest.TestCase):
    def test_last_duplicate_wins(self):
        p = Params([("port", "80"), ("host", "x"), ("port", "8080")])
        self.assertEqual(p.get("port"), "8080")
        self.assertIsNone(p.get("nope"))
        self.assertEqual(p.integer("port", 1), 8080)
        self.assertEqual(len(list(p)), 3)
        self.assertIn("host", p)

    def test_errors_name_parameter_expectation_and_value(self):
        p = Params([("port", "abc"), ("big", "70000"), ("n", "1e3x"), ("zero", "0"), ("x", "5")])
        self.assertEqual(bad(p.integer, "port", 80, 0, 65535),
                         "parameter 'port': expected an integer from 0 to 65535, got 'abc'")
        self.assertEqual(bad(p.integer, "zero", 80, 1, 65535),
                         "parameter 'zero': expected an integer from 1 to 65535, got '0'")
        self.assertEqual(bad(p.integer, "big", 80, 0, 65535),
                         "parameter 'big': expected an integer from 0 to 65535, got '70000'")
        self.assertEqual(bad(p.integer, "port"), "parameter 'port': expected an integer, got 'abc'")
        self.assertEqual(bad(p.number, "n", 0.0), "parameter 'n': expected a number, got '1e3x'")
        self.assertEqual(bad(p.number, "x", 1.0, 0, 1), "parameter 'x': expected a number from 0 to 1, got '5'")
        self.assertEqual(bad(p.number, "x", 1.0, 10), "parameter 'x': expected a number of at least 10, got '5'")
        self.assertEqual(p.number("missing", 2.5, 0, 10), 2.5)

    def test_required_string_and_choice(self):
        p = Params([("count", " 3 "), ("scheme", "HTTPS"), ("mode", "fast")])
        self.assertEqual(p.integer("count"), 3)
        self.assertEqual(p.required("count"), " 3 ")
        self.assertEqual(bad(p.required, "size"), "parameter 'size' is required")
        self.assertEqual(p.string("size", "7"), "7")
        self.assertEqual(p.choice("scheme", "http", ["http", "https"]), "https")
        self.assertEqual(p.choice("none", "http", ["http", "https"]), "http")
        self.assertEqual(bad(p.choice, "mode", "slow", ["slow", "medium", "thorough"]),
                         "parameter 'mode': expected slow, medium or thorough, got 'fast'")

    def test_numbers_refuse_nan_infinity_and_underscores(self):
        p = Params([("a", "nan"), ("b", "inf"), ("c", "-1.5"), ("d", "1_000"), ("e", "2e3")])
        for name in "abd":
            bad(p.number, name, 0.0)
        self.assertEqual(p.number("c", 0.0), -1.5)
        self.assertEqual(p.number("e", 0.0), 2000.0)

    def test_durations(self):
        p = Params([("a", "10s"), ("b", "500ms"), ("c", "2m"), ("d", "1.5"), ("e", "1h"), ("f", "2min"),
                    ("g", "-1s"), ("h", "10 parsecs"), ("i", "s"), ("j", "250us")])
        for name, seconds in [("a", 10), ("b", 0.5), ("c", 120), ("d", 1.5), ("e", 3600), ("f", 120), ("j", 0.00025)]:
            self.assertAlmostEqual(p.duration(name, 0), seconds, msg=name)
        self.assertEqual(p.duration("zz", 7), 7)
        for name in "ghi":
            msg = bad(p.duration, name, 0)
            self.assertTrue(msg.startswith(f"parameter '{name}': expected a duration such as 10s"), msg)
            self.assertTrue(msg.endswith(f"got '{p.get(name)}'"), msg)

    def test_booleans(self):
        p = Params([("a", "Yes"), ("b", "off"), ("c", "1"), ("d", "maybe")])
        self.assertTrue(p.bool("a", False))
        self.assertFalse(p.bool("b", True))
        self.assertTrue(p.bool("c", False))
        self.assertTrue(p.bool("zz", True))
        self.assertEqual(bad(p.bool, "d", False),
                         "parameter 'd': expected true or false (also yes/no, on/off, 1/0), got 'maybe'")

    def test_states_ranges_and_thresholds(self):
        p = Params([("state", "crit"), ("bad", "nope"), ("w", "10:"), ("c", "20:10")])
        self.assertEqual(p.state("state", State.OK), State.CRITICAL)
        self.assertEqual(p.state("none", State.WARNING), State.WARNING)
        self.assertEqual(bad(p.state, "bad", State.OK),
                         "parameter 'bad': expected a state (OK, WARNING, CRITICAL, UNKNOWN, WARN, CRIT or 0-3), got 'nope'")
        self.assertEqual(p.range("w"), Range.lower(10))
        self.assertIsNone(p.range("zz"))
        self.assertEqual(bad(p.thresholds, "w", "c"),
                         "parameter 'c': invalid range '20:10': start 20 is greater than end 10; "
                         "expected N, N:, ~:N, N:M or @N:M")
        for text, state in [("ok", State.OK), ("WARN", State.WARNING), (" 2 ", State.CRITICAL), ("3", State.UNKNOWN)]:
            self.assertEqual(parse_state(text), state)
        for text in ["", "4", "okay", "w", "-1"]:
            with self.assertRaisesRegex(ValueError, f"got '{text}'"):
                parse_state(text)

    def test_level_pairs(self):
        p = Params([("warning", "70"), ("critical", "95"), ("w2", "x")])
        self.assertEqual(p.levels_upper("warning", "critical", (80, 90)), Levels.at_or_above(70, 95))
        self.assertEqual(p.levels_upper("warning", "crit2", (80, 90)), Levels.at_or_above(70, 90))
        self.assertEqual(p.levels_lower("warn2", "critical", (20, 10)), Levels.below(20, 95))
        self.assertEqual(p.levels_upper("a", "b", (1, 2)), Levels.at_or_above(1, 2))
        self.assertEqual(p.levels_upper("a", "b"), Levels.none())
        self.assertEqual(bad(p.levels_upper, "warning", "b"),
                         "parameter 'warning' is given without 'b': give both or neither")
        self.assertEqual(bad(p.levels_upper, "a", "critical"),
                         "parameter 'critical' is given without 'a': give both or neither")
        self.assertEqual(bad(p.levels_upper, "w2", "critical"), "parameter 'w2': expected a number, got 'x'")

    def test_amounts(self):
        p = Params([("a", "20%"), ("b", "10GB"), ("c", "10"), ("d", "120%"), ("e", "1.5 t"), ("f", "x%")])
        self.assertEqual(p.amount("a"), Amount(20.0, True))
        self.assertEqual(p.amount("b"), Amount(10 * 1024.0**3, False))
        self.assertEqual(p.amount("e"), Amount(1.5 * 1024.0**4, False))
        self.assertIsNone(p.amount("zz"))
        for name in "cdf":
            self.assertTrue(bad(p.amount, name).startswith(f"parameter '{name}': expected a percentage from 0% to 100%"))
        self.assertEqual(str(Amount(20, True)), "20%")
        self.assertEqual(str(Amount(1024, False)), "1.00 KiB")
        self.assertEqual(parse_bytes("7B"), 7)
        self.assertEqual(parse_bytes("2 KiB"), 2048)
        self.assertIsNone(parse_bytes("-2KiB"))
        self.assertIsNone(parse_bytes("GiB"))
        self.assertIsNone(parse_bytes("500"))

    def test_unknown_names_are_rejected(self):
        p = Params([("port", "80"), ("prot", "tcp")])
        p.reject_unknown(["port", "prot"])
        self.assertEqual(bad(p.reject_unknown, ["port", "timeout"]),
                         "unknown parameter 'prot' (this check understands: port, timeout)")
        self.assertEqual(bad(p.reject_unknown, []), "unknown parameter 'port' (this check understands: none)")


class RequestTest(unittest.TestCase):
    def test_request_views(self):
        req = CheckRequest.new("h", "", [("a", "1")], 10_000)
        self.assertEqual((req.target.name, req.target.address, req.timeout_ms), ("h", "", 10_000))
        self.assertEqual(req.params.get("a"), "1")
        self.assertEqual(bad(req.required_item), "this check needs an item, but none was given")
        self.assertEqual(CheckRequest.new(item="/").required_item(), "/")
        self.assertEqual(CheckRequest.new("", "192.0.2.1").target.host, "192.0.2.1")
        self.assertEqual(CheckRequest.new("www", "192.0.2.1").target.host, "www")

    def test_io_timeout_stays_within_the_host_budget(self):
        def req(timeout, timeout_ms):
            return CheckRequest.new("h", "", [("timeout", timeout)] if timeout else [], timeout_ms)

        self.assertEqual(req(None, 10_000).io_timeout(10), 9)
        self.assertEqual(req(None, 60_000).io_timeout(10), 10)
        self.assertEqual(req("2s", 10_000).io_timeout(10), 2)
        self.assertEqual(req("30", 10_000).io_timeout(10), 9)
        self.assertEqual(req(None, 0).io_timeout(10), 10, "no budget known")
        self.assertIn("parameter 'timeout'", bad(req("0", 10_000).io_timeout, 10))
        self.assertIn("got 'soon'", bad(req("soon", 10_000).io_timeout, 10))


if __name__ == "__main__":
    unittest.main()
