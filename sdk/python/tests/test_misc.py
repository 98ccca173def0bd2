import doctest
import unittest

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
