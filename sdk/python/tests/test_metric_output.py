import unittest

from wasmon_check import CheckResult, Levels, Metric, Output, PartialResult, Range, State, Thresholds, is_valid_label


class MetricTest(unittest.TestCase):
    def test_label_syntax(self):
        for good in ["load1", "fs_used", "_x", "a"]:
            self.assertTrue(is_valid_label(good), good)
        for bad in ["", "1load", "Load", "fs-used", "fs used", "tíme"]:
            self.assertFalse(is_valid_label(bad), bad)

    def test_canonical_constructors(self):
        p = Metric.percent("mem_used_percent", 42)
        self.assertEqual((p.uom, p.min, p.max, p.value), ("%", 0.0, 100.0, 42.0))
        b = Metric.bytes("fs_used", 1024)
        self.assertEqual((b.uom, b.min, b.max), ("B", 0.0, None))
        self.assertEqual(Metric.seconds("time", 0.012).uom, "s")
        self.assertEqual(Metric.per_second("requests", 3).uom, "")
        self.assertEqual(Metric.count("processes", 3).min, 0.0)
        self.assertEqual(Metric.counter("bytes_in", 3).uom, "c")
        n = Metric.number("load1", 0.5)
        self.assertEqual((n.min, n.max), (None, None))

    def test_bad_label_or_unit_is_refused(self):
        with self.assertRaisesRegex(ValueError, "lower case letters"):
            Metric("Response Time", 1, "s")
        with self.assertRaisesRegex(ValueError, "is not one of"):
            Metric("time", 1, "ms")

    def test_levels_become_perfdata_ranges(self):
        up = Metric.percent("usage", 50).with_levels(Levels.at_or_above(80, 90))
        self.assertEqual((str(up.warn), str(up.crit)), ("80", "90"))
        low = Metric.bytes("free", 5).with_levels(Levels.below(10, 5))
        self.assertEqual((str(low.warn), str(low.crit)), ("10:", "5:"))
        both = Metric.number("t", 5).with_levels(Levels.both((80, 90), (10, 5)))
        self.assertEqual(both.warn, Range.upper(80))
        none = up.with_levels(Levels.none())
        self.assertEqual((none.warn, none.crit), (None, None))
        self.assertEqual(str(up.warn), "80", "with_* returns a copy")
        explicit = Metric.seconds("time", 1).with_warn(Range.upper(2)).with_crit(Range.upper(5))
        self.assertEqual(explicit.crit, Range.upper(5))
        t = Metric.number("x", 1).with_thresholds(Thresholds.parse("10", "@20:30"))
        self.assertEqual((str(t.warn), str(t.crit)), ("10", "@20:30"))
        self.assertEqual(Metric.number("x", 1).with_min(-1).with_max(1).min, -1)


class OutputTest(unittest.TestCase):
    def test_state_is_worst_in_severity_order(self):
        out = Output()
        self.assertEqual(out.state, State.OK)
        out.ok("A: 1").warn("B: 2")
        self.assertEqual(out.state, State.WARNING)
        out.unknown("C: ?")
        self.assertEqual(out.state, State.UNKNOWN)
        out.crit("D: 4").unknown("E: ?").ok("F: 6")
        self.assertEqual(out.state, State.CRITICAL)
        self.assertEqual(out.summary, "A: 1, B: 2, C: ?, D: 4, E: ?, F: 6")
        result = out.result()
        self.assertEqual((result.state, result.summary), (State.CRITICAL, out.summary))

    def test_details_attach_to_last_partial(self):
        out = Output()
        with self.assertRaises(IndexError):
            out.details("too early")
        out.ok("A: 1").warn("B: 2").details("line 1").details("line 2")
        out.metric(Metric.count("things", 2))
        result = out.result()
        self.assertIsNone(result.partials[0].details)
        self.assertEqual(result.partials[1].details, "line 1\nline 2")
        self.assertEqual(len(result.metrics), 1)

    def test_response_time(self):
        out = Output().ok("Connected")
        out.response_time(0.012, Levels.none(), 9.5)
        self.assertEqual((out.state, out.summary), (State.OK, "Connected, Response time: 12 ms"))
        m = out.metrics[0]
        self.assertEqual((m.label, m.value, m.uom, m.warn, m.min, m.max), ("response_time", 0.012, "s", None, 0.0, 9.5))
        out = Output().response_time(1.5, Levels.at_or_above(1, 2), 10)
        self.assertEqual((out.state, out.summary), (State.WARNING, "Response time: 1.50 s (warn/crit at 1.00 s/2.00 s)"))
        self.assertEqual(str(out.metrics[0].crit), "2")

    def test_empty_result_is_unknown_for_the_host(self):
        self.assertEqual(Output().result().state, State.UNKNOWN)
        self.assertEqual(CheckResult([PartialResult(State.OK, "x")]).state, State.OK)


if __name__ == "__main__":
    unittest.main()
