import doctest
import unittest
from unittest import mock

import wasmon_check
from wasmon_check import BadParams, CheckError, Failed, ItemNotFound, ParamInfo, State, bad_param, invalid_param
from wasmon_check import host, levels, output, params, ranges
from wasmon_check.deadline import Deadline


class StateTest(unittest.TestCase):
    def test_severity_order_is_ok_warning_unknown_critical(self):
        self.assertEqual(State.OK.worst(State.WARNING), State.WARNING)
        self.assertEqual(State.WARNING.worst(State.UNKNOWN), State.UNKNOWN)
        self.assertEqual(State.UNKNOWN.worst(State.CRITICAL), State.CRITICAL)
        self.assertEqual(State.CRITICAL.worst(State.UNKNOWN), State.CRITICAL)
        self.assertEqual(State.worst_of([State.UNKNOWN, State.WARNING]), State.UNKNOWN)
        self.assertEqual(State.worst_of([]), State.OK)

    def test_exit_codes_and_names_match_the_wit_enum(self):
        states = [State.OK, State.WARNING, State.CRITICAL, State.UNKNOWN]
        self.assertEqual([s.exit_code for s in states], [0, 1, 2, 3])
        self.assertEqual([str(s) for s in states], ["OK", "WARNING", "CRITICAL", "UNKNOWN"])


class ErrorsTest(unittest.TestCase):
    def test_messages(self):
        self.assertEqual(bad_param("port", "an integer", "x").message, "parameter 'port': expected an integer, got 'x'")
        self.assertEqual(invalid_param("url", "is empty").message, "parameter 'url': is empty")
        for e in (BadParams("m"), Failed("m"), ItemNotFound()):
            self.assertIsInstance(e, CheckError)


class InfoTest(unittest.TestCase):
    def test_standard_parameters(self):
        warning, critical = ParamInfo.response_time_levels("no default levels")
        self.assertEqual(warning.description, "Response time in seconds at or above which the check is WARN.")
        self.assertEqual((critical.name, critical.default_value, critical.default_source),
                         ("critical", None, "no default levels"))
        t = ParamInfo.timeout("for the whole request", 2.5, "example")
        self.assertEqual(t.name, "timeout")
        self.assertTrue(t.description.startswith("Time allowed for the whole request, as seconds ('10', '2.5')"))
        self.assertEqual((t.default_value, t.default_source), ("2.5s", "example"))
        self.assertEqual(ParamInfo.timeout("x", 10, "y").default_value, "10s")


# The shared test vectors of the four SDKs (Rust, Python, JavaScript, C): the
# same cases and numbers in each.
NEGATIVE, RAISE = host.Overflow.NEGATIVE, host.Overflow.RAISE

# Rate cases: previous (time, value), value, now, overflow, the rate, why.
RATE_CASES = [
    (None, 100, 10, NEGATIVE, None, "first sample initialises"),
    (None, 100, 10, RAISE, None, "first sample initialises"),
    ((10, 100), 160, 40, NEGATIVE, 2.0, "growing"),
    ((10, 100), 160, 40, RAISE, 2.0, "growing"),
    ((10, 100), 100, 20, NEGATIVE, 0.0, "unchanged"),
    ((10, 100), 100, 20, RAISE, 0.0, "unchanged"),
    ((10, 100), 50, 20, NEGATIVE, -5.0, "went down: negative rate"),
    ((10, 100), 50, 20, RAISE, None, "went down: wrap or reset"),
    ((10, 100), 150, 10, NEGATIVE, None, "no time passed"),
    ((10, 100), 150, 10, RAISE, None, "no time passed"),
    ((10, 100), 150, 5, NEGATIVE, None, "clock went back"),
    ((10, 100), 150, 5, RAISE, None, "clock went back"),
    ((10, 23), 56, 70, NEGATIVE, 0.55, "Checkmk's get_rate example"),
]

# Average series: backlog minutes and (time, value, average) in order, each
# call continuing from the state the previous one returned. The first is
# Checkmk's test_get_average.
AVERAGE_SERIES = [
    (1, [(0, 23, 23), (60, 42, 32.5), (120, 42, 37.25), (300, 42, 41.40625)]),
    (5, [
        (0, 10, 10),
        (60, 20, 15),
        (60, 99, 15),  # no time passed: the last average
        (30, 99, 15),  # clock went back: the last average
        (120, 30, 19.393398282201787),
        (600, 30, 26.501126281736973),
        (660, 0, 23.07057041254784),
    ]),
]


def close(actual, expected):
    """Equal up to 1e-12 relative to the expected value (pow may differ in the last bit)."""
    return abs(actual - expected) <= 1e-12 * max(abs(expected), 1.0)


class HostHelpersTest(unittest.TestCase):
    def test_float_encoding_round_trips(self):
        values = [1.5, -0.0, 1.7976931348623157e308, 1e-300]
        self.assertEqual(host.decode_floats(host.encode_floats(values)), values)
        self.assertEqual(host.decode_floats(b""), [])
        self.assertIsNone(host.decode_floats(b"\x01\x02\x03"))
        self.assertEqual(host.encode_floats([1.0]), b"\x00\x00\x00\x00\x00\x00\xf0\x3f", "little-endian f64")

    def test_rate_semantics(self):
        self.assertIsNone(host.compute_rate(None, 100, 10), "first sample initialises")
        self.assertEqual(host.compute_rate((10, 100), 160, 40), 2.0)
        self.assertEqual(host.compute_rate((10, 100), 100, 20), 0.0)
        self.assertIsNone(host.compute_rate((10, 100), 50, 20), "wrap or reset")
        self.assertIsNone(host.compute_rate((10, 100), 150, 10), "no time passed")

    def test_rate_cases(self):
        for previous, value, now, overflow, expected, why in RATE_CASES:
            with self.subTest(why, overflow=overflow):
                self.assertEqual(host.compute_rate_with(previous, value, now, overflow), expected)
                if overflow is host.Overflow.RAISE:
                    self.assertEqual(host.compute_rate(previous, value, now), expected)
        with self.assertRaises(TypeError):
            host.compute_rate_with((10, 100), 50, 20, True)

    def test_average_series(self):
        for backlog_minutes, series in AVERAGE_SERIES:
            state = None
            for i, (time, value, expected) in enumerate(series):
                state = host.compute_average(state, value, time, backlog_minutes)
                self.assertTrue(close(state[2], expected), f"backlog {backlog_minutes}, [{i}]: got {state[2]!r}, expected {expected!r}")
        self.assertEqual(host.compute_average(None, 7, 100, 5), (100, 100, 7), "first value")
        self.assertEqual(host.compute_average((0, 60, 15), 99, 30, 5), (0, 60, 15), "time anomaly keeps the state")

    def test_rate_and_average_keep_their_state_in_the_store(self):
        stored = {}
        with mock.patch.object(host, "store_get", stored.get), \
                mock.patch.object(host, "store_set", stored.__setitem__):
            self.assertIsNone(host.rate_with("q", 100, 10, host.Overflow.NEGATIVE), "first sample")
            self.assertEqual(host.rate_with("q", 50, 20, host.Overflow.NEGATIVE), -5.0)
            self.assertIsNone(host.rate_with("q", 40, 30, host.Overflow.RAISE), "went down")
            self.assertEqual(host.rate("q", 60, 40), 2.0)
            self.assertEqual(host.decode_floats(stored["q"]), [40.0, 60.0])
            with self.assertRaises(TypeError):
                host.rate_with("q", 70, "sometimes", 50)
            self.assertEqual(host.decode_floats(stored["q"]), [40.0, 60.0], "nothing stored for a bad overflow")
            self.assertEqual([host.average("a", v, t, 1) for t, v in [(0, 23), (60, 42), (120, 42), (300, 42)]],
                             [23, 32.5, 37.25, 41.40625])
            self.assertEqual(host.decode_floats(stored["a"]), [0.0, 300.0, 41.40625])

    def test_imports_outside_a_component_say_so(self):
        with self.assertRaisesRegex(ImportError, "does not import wasmon:check/log"):
            host.log_info("x")


class DeadlineTest(unittest.TestCase):
    def test_starting_adds_the_timeout_and_saturates(self):
        d = Deadline.starting(1_000, 1.5)
        self.assertEqual((d.start, d.at), (1_000, 1_500_001_000))
        self.assertEqual(Deadline.starting(2**64 - 6, 1).at, 2**64 - 1)
        self.assertEqual(Deadline.starting(7, 1e30).at, 2**64 - 1)

    def test_min_after_takes_the_earlier_and_keeps_the_start(self):
        d = Deadline.starting(0, 10)
        sooner = d.min_after_at(1_000_000_000, 2)
        self.assertEqual((sooner.start, sooner.at), (0, 3_000_000_000))
        self.assertEqual(d.min_after_at(9_000_000_000, 2), d)

    def test_natively_the_clock_is_pythons_monotonic_clock(self):
        d = Deadline.after(60)
        self.assertFalse(d.expired())
        self.assertGreaterEqual(d.elapsed(), 0)
        self.assertLessEqual(d.remaining(), 60)
        self.assertTrue(Deadline.after(0).expired())


def load_tests(loader, tests, ignore):
    for module in (wasmon_check, levels, output, params, ranges):
        tests.addTests(doctest.DocTestSuite(module))
    return tests


if __name__ == "__main__":
    unittest.main()
