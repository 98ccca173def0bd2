import unittest

from wasmon_check import Levels, State, check_levels, render

KIB = 1024.0


class LevelsTest(unittest.TestCase):
    def test_upper_levels_alert_at_or_above(self):
        lv = Levels.at_or_above(80, 90)
        self.assertEqual(lv.evaluate(79.999), State.OK)
        self.assertEqual(lv.evaluate(80), State.WARNING)
        self.assertEqual(lv.evaluate(89.999), State.WARNING)
        self.assertEqual(lv.evaluate(90), State.CRITICAL)

    def test_lower_levels_alert_below(self):
        lv = Levels.below(10, 5)
        self.assertEqual(lv.evaluate(10), State.OK)
        self.assertEqual(lv.evaluate(9.99), State.WARNING)
        self.assertEqual(lv.evaluate(5), State.WARNING)
        self.assertEqual(lv.evaluate(4.99), State.CRITICAL)

    def test_both_none_and_inverted(self):
        lv = Levels.both((80, 90), (10, 5))
        self.assertEqual([lv.evaluate(v) for v in (50, 85, 95, 7, 1)],
                         [State.OK, State.WARNING, State.CRITICAL, State.WARNING, State.CRITICAL])
        self.assertTrue(Levels.none().is_none())
        self.assertEqual(Levels.none().evaluate(1e300), State.OK)
        self.assertEqual(Levels.at_or_above(95, 90).evaluate(92), State.CRITICAL)

    def test_check_levels_text(self):
        upper = Levels.at_or_above(80, 90)
        ok = check_levels(50, upper, "Usage", render.percent)
        self.assertEqual((ok.state, ok.summary), (State.OK, "Usage: 50%"))
        crit = check_levels(90, upper, "Usage", render.percent)
        self.assertEqual((crit.state, crit.summary), (State.CRITICAL, "Usage: 90% (warn/crit at 80%/90%)"))
        warn = check_levels(6 * KIB, Levels.below(10 * KIB, 5 * KIB), "Free", render.bytes)
        self.assertEqual(warn.summary, "Free: 6.00 KiB (warn/crit below 10.00 KiB/5.00 KiB)")
        both = Levels.both((80, 90), (10, 5))
        celsius = lambda v: f"{render.number(v)} °C"  # noqa: E731
        self.assertEqual(check_levels(1, both, "Temperature", celsius).summary,
                         "Temperature: 1 °C (warn/crit below 10 °C/5 °C)")
        self.assertEqual(check_levels(81, both, "Temperature", celsius).summary,
                         "Temperature: 81 °C (warn/crit at 80 °C/90 °C)")


class RenderTest(unittest.TestCase):
    def test_bytes_use_binary_units(self):
        for value, text in [
            (0, "0 B"), (512, "512 B"), (1023, "1023 B"), (KIB, "1.00 KiB"), (1.5 * KIB**2, "1.50 MiB"),
            (1.5 * KIB**3, "1.50 GiB"), (2 * KIB**4, "2.00 TiB"), (3 * KIB**5, "3.00 PiB"),
            (KIB * KIB - 1, "1.00 MiB"), (-2048, "-2.00 KiB"),
        ]:
            self.assertEqual(render.bytes(value), text, value)

    def test_percent_has_no_blank(self):
        for value, text in [(89.5, "89.5%"), (100, "100%"), (0, "0%"), (33.3333, "33.33%"),
                            (12.999, "13%"), (0.001, "<0.01%")]:
            self.assertEqual(render.percent(value), text, value)

    def test_seconds_pick_a_readable_unit(self):
        for value, text in [
            (0, "0 s"), (0.00085, "850 µs"), (0.0015, "1.5 ms"), (0.002, "2 ms"), (0.012, "12 ms"),
            (0.9994, "999 ms"), (0.9996, "1.00 s"), (1.2, "1.20 s"), (303, "5 min 3 s"),
            (7500, "2 h 5 min"), (4 * 86400 + 3 * 3600, "4 d 3 h"), (-0.5, "-500 ms"),
            (60.5, "1 min 1 s"),
        ]:
            self.assertEqual(render.seconds(value), text, value)

    def test_fixed_drops_negative_zero_and_number_trims(self):
        self.assertEqual(render.fixed(-0.0001, 2), "0.00")
        self.assertEqual(render.fixed(-1.5, 1), "-1.5")
        self.assertEqual(render.fixed(2.0, 0), "2")
        self.assertEqual(render.number(12.0), "12")
        self.assertEqual(render.number(0.125), "0.12")
        self.assertEqual(render.number(3.14159, 3), "3.142")


if __name__ == "__main__":
    unittest.main()
