import unittest

from wasmon_check import Range, RangeError, State, Thresholds


def r(text):
    return Range.parse(text)


class RangeTest(unittest.TestCase):
    def test_plain_number_is_zero_to_n_inclusive(self):
        rng = r("10")
        self.assertEqual(rng, Range(0.0, 10.0, False))
        self.assertFalse(rng.alerts(0))
        self.assertFalse(rng.alerts(10))
        self.assertTrue(rng.alerts(10.001))
        self.assertTrue(rng.alerts(-0.5))

    def test_open_end(self):
        rng = r("10:")
        self.assertEqual(rng, Range(10.0, None, False))
        self.assertTrue(rng.alerts(9.99))
        self.assertFalse(rng.alerts(10))
        self.assertFalse(rng.alerts(1e12))

    def test_negative_infinity_start(self):
        rng = r("~:10")
        self.assertEqual(rng, Range(None, 10.0, False))
        self.assertFalse(rng.alerts(-1e12))
        self.assertFalse(rng.alerts(10))
        self.assertTrue(rng.alerts(10.5))

    def test_both_ends(self):
        rng = r("10:20")
        self.assertTrue(rng.alerts(9))
        self.assertFalse(rng.alerts(10))
        self.assertFalse(rng.alerts(20))
        self.assertTrue(rng.alerts(21))
        self.assertTrue(r("-5:-1").alerts(0))
        self.assertFalse(r("-5:-1").alerts(-5))

    def test_inside_alerts_within_inclusive_ends(self):
        rng = r("@10:20")
        self.assertTrue(rng.inside)
        self.assertFalse(rng.alerts(9.9))
        self.assertTrue(rng.alerts(10))
        self.assertTrue(rng.alerts(20))
        self.assertFalse(rng.alerts(20.1))
        self.assertTrue(r("@5").alerts(0) and r("@5").alerts(5) and not r("@5").alerts(5.1))

    def test_empty_start_is_zero_like_the_plugins(self):
        self.assertEqual(r(":10"), r("10"))
        self.assertEqual(r("~:"), Range(None, None, False))
        self.assertEqual(r(" 1.5:2.5 "), Range(1.5, 2.5, False))

    def test_invalid_forms_are_rejected_with_a_clear_message(self):
        for text, reason in [
            ("20:10", "start 20 is greater than end 10"),
            ("", "it is empty"),
            ("   ", "it is empty"),
            ("@", "'@' must be followed by a range"),
            ("abc", "'abc' is not a number"),
            ("10:abc", "'abc' is not a number"),
            ("x:10", "'x' is not a number"),
            ("~", "'~' must be followed by ':'"),
            ("10:20:30", "'20:30' is not a number"),
            ("@@10", "'@10' is not a number"),
            ("inf", "'inf' is not a number"),
            ("NaN:", "'NaN' is not a number"),
            ("10%", "'10%' is not a number"),
            ("1_000", "'1_000' is not a number"),
        ]:
            with self.subTest(text=text):
                with self.assertRaises(RangeError) as ctx:
                    Range.parse(text)
                msg = str(ctx.exception)
                self.assertTrue(msg.startswith(f"invalid range '{text}': "), msg)
                self.assertIn(reason, msg)
                self.assertIn("expected N, N:, ~:N, N:M or @N:M", msg)

    def test_str_is_the_shortest_form_and_round_trips(self):
        for given, shown in [
            ("10", "10"), ("0:10", "10"), ("10:", "10:"), ("~:10", "~:10"), ("10:20", "10:20"),
            ("@10:20", "@10:20"), ("@0:5", "@5"), ("~:", "~:"), ("1.5:2.25", "1.5:2.25"), ("-3:-1", "-3:-1"),
        ]:
            with self.subTest(given=given):
                self.assertEqual(str(r(given)), shown)
                self.assertEqual(r(shown), r(given))

    def test_upper_and_lower_constructors(self):
        self.assertEqual(str(Range.upper(80)), "80")
        self.assertTrue(Range.upper(80).alerts(80.5))
        self.assertFalse(Range.upper(80).alerts(80))
        self.assertEqual(str(Range.upper(-5)), "~:-5")
        self.assertEqual(str(Range.lower(10)), "10:")
        self.assertTrue(Range.lower(10).alerts(9))
        self.assertFalse(Range.lower(10).alerts(10))


class ThresholdsTest(unittest.TestCase):
    def test_critical_is_checked_first(self):
        t = Thresholds.parse("10", "20")
        self.assertEqual(t.evaluate(5), State.OK)
        self.assertEqual(t.evaluate(10), State.OK)
        self.assertEqual(t.evaluate(15), State.WARNING)
        self.assertEqual(t.evaluate(20.5), State.CRITICAL)
        both = Thresholds.parse("3", "5")
        self.assertEqual(both.evaluate(4), State.WARNING)
        self.assertEqual(both.evaluate(6), State.CRITICAL)
        inverted = Thresholds.parse("5", "3")
        self.assertEqual(inverted.evaluate(4), State.CRITICAL)
        self.assertEqual(inverted.evaluate(2), State.OK)
        self.assertEqual(Thresholds().evaluate(1e9), State.OK)
        self.assertEqual(Thresholds(None, Range.lower(1)).evaluate(0.5), State.CRITICAL)
        with self.assertRaises(RangeError):
            Thresholds.parse("x", None)


if __name__ == "__main__":
    unittest.main()
