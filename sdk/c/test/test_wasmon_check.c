/*
 * Native unit tests of the portable part of the wasmon C SDK
 * (wasmon_check.c): the same cases as the Rust SDK's tests, so that both
 * SDKs parse, judge and word things alike.
 *
 *   cc -std=c11 -Wall -Wextra -I sdk/c sdk/c/wasmon_check.c \
 *      sdk/c/test/test_wasmon_check.c -lm -o test_wasmon_check && ./test_wasmon_check
 *
 * Prints one line per failed expectation and exits 1 if any failed.
 */
#include "wasmon_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int expectations = 0;

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        expectations++;                                                                          \
        if (!(cond)) {                                                                           \
            failures++;                                                                          \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                  \
        }                                                                                        \
    } while (0)

#define CHECK_STR(actual, expected)                                                              \
    do {                                                                                         \
        const char *a_ = (actual), *e_ = (expected);                                             \
        expectations++;                                                                          \
        if (strcmp(a_, e_) != 0) {                                                               \
            failures++;                                                                          \
            fprintf(stderr, "%s:%d: got \"%s\", expected \"%s\"\n", __FILE__, __LINE__, a_, e_); \
        }                                                                                        \
    } while (0)

/* Whether `text` starts with / contains `part`. */
static bool starts_with(const char *text, const char *part) {
    return strncmp(text, part, strlen(part)) == 0;
}
static bool contains(const char *text, const char *part) {
    return strstr(text, part) != NULL;
}

/* A parameter list from name/value pairs, NULL-terminated. */
#define PARAMS(...)                                                                              \
    ((wm_params){(const wm_param[]){__VA_ARGS__},                                                \
                 sizeof((const wm_param[]){__VA_ARGS__}) / sizeof(wm_param)})

static wm_range range(const char *text) {
    wm_range r;
    char why[256];
    if (!wm_range_parse(text, &r, why, sizeof why)) {
        fprintf(stderr, "range '%s' did not parse: %s\n", text, why);
        failures++;
        memset(&r, 0, sizeof r);
    }
    return r;
}

static const char *fmt_range(wm_range r) {
    static char buf[128];
    wm_range_format(&r, buf, sizeof buf);
    return buf;
}

static void test_ranges(void) {
    wm_range r = range("10");
    CHECK(r.has_start && r.start == 0 && r.has_end && r.end == 10 && !r.inside);
    CHECK(!wm_range_alerts(&r, 0) && !wm_range_alerts(&r, 10));
    CHECK(wm_range_alerts(&r, 10.001) && wm_range_alerts(&r, -0.5));

    r = range("10:");
    CHECK(r.has_start && r.start == 10 && !r.has_end);
    CHECK(wm_range_alerts(&r, 9.99) && !wm_range_alerts(&r, 10) && !wm_range_alerts(&r, 1e12));

    r = range("~:10");
    CHECK(!r.has_start && r.end == 10);
    CHECK(!wm_range_alerts(&r, -1e12) && !wm_range_alerts(&r, 10) && wm_range_alerts(&r, 10.5));

    r = range("10:20");
    CHECK(wm_range_alerts(&r, 9) && !wm_range_alerts(&r, 10) && !wm_range_alerts(&r, 20));
    CHECK(wm_range_alerts(&r, 21));
    r = range("-5:-1");
    CHECK(wm_range_alerts(&r, 0) && !wm_range_alerts(&r, -5));

    r = range("@10:20");
    CHECK(r.inside);
    CHECK(!wm_range_alerts(&r, 9.9) && wm_range_alerts(&r, 10) && wm_range_alerts(&r, 15));
    CHECK(wm_range_alerts(&r, 20) && !wm_range_alerts(&r, 20.1));
    r = range("@5");
    CHECK(wm_range_alerts(&r, 0) && wm_range_alerts(&r, 5) && !wm_range_alerts(&r, 5.1));

    /* An empty start is 0, as in the Monitoring Plugins; blanks around are ignored. */
    r = range(":10");
    CHECK(r.has_start && r.start == 0 && r.end == 10);
    r = range("~:");
    CHECK(!r.has_start && !r.has_end);
    r = range(" 1.5:2.5 ");
    CHECK(r.start == 1.5 && r.end == 2.5);

    static const struct {
        const char *text, *reason;
    } bad[] = {
        {"20:10", "start 20 is greater than end 10"},
        {"", "it is empty"},
        {"   ", "it is empty"},
        {"@", "'@' must be followed by a range"},
        {"abc", "'abc' is not a number"},
        {"10:abc", "'abc' is not a number"},
        {"x:10", "'x' is not a number"},
        {"~", "'~' must be followed by ':'"},
        {"10:20:30", "'20:30' is not a number"},
        {"@@10", "'@10' is not a number"},
        {"inf", "'inf' is not a number"},
        {"NaN:", "'NaN' is not a number"},
        {"10%", "'10%' is not a number"},
        {"0x10", "'0x10' is not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[256] = "";
        wm_range out;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "invalid range '%s': ", bad[i].text);
        CHECK(!wm_range_parse(bad[i].text, &out, why, sizeof why));
        CHECK(starts_with(why, prefix));
        CHECK(contains(why, bad[i].reason));
        CHECK(contains(why, "expected N, N:, ~:N, N:M or @N:M"));
    }

    static const struct {
        const char *input, *shown;
    } display[] = {
        {"10", "10"},         {"0:10", "10"},   {"10:", "10:"},     {"~:10", "~:10"},
        {"10:20", "10:20"},   {"@10:20", "@10:20"}, {"@0:5", "@5"}, {"~:", "~:"},
        {"1.5:2.25", "1.5:2.25"}, {"-3:-1", "-3:-1"}, {"0.1", "0.1"}, {"1e3", "1000"},
    };
    for (size_t i = 0; i < sizeof display / sizeof display[0]; i++) {
        wm_range a = range(display[i].input);
        CHECK_STR(fmt_range(a), display[i].shown);
        wm_range b = range(display[i].shown);
        CHECK(memcmp(&a, &b, sizeof a) == 0 || (a.has_start == b.has_start && a.start == b.start &&
                                                a.has_end == b.has_end && a.end == b.end &&
                                                a.inside == b.inside));
    }

    CHECK_STR(fmt_range(wm_range_upper(80)), "80");
    r = wm_range_upper(80);
    CHECK(wm_range_alerts(&r, 80.5) && !wm_range_alerts(&r, 80));
    CHECK_STR(fmt_range(wm_range_upper(-5)), "~:-5");
    CHECK_STR(fmt_range(wm_range_lower(10)), "10:");
    r = wm_range_lower(10);
    CHECK(wm_range_alerts(&r, 9) && !wm_range_alerts(&r, 10));
}

static void test_thresholds(void) {
    wm_thresholds t = {true, range("10"), true, range("20")};
    CHECK(wm_thresholds_evaluate(&t, 5) == WM_OK);
    CHECK(wm_thresholds_evaluate(&t, 10) == WM_OK);
    CHECK(wm_thresholds_evaluate(&t, 15) == WM_WARNING);
    CHECK(wm_thresholds_evaluate(&t, 20.5) == WM_CRITICAL);
    wm_thresholds inverted = {true, range("5"), true, range("3")};
    CHECK(wm_thresholds_evaluate(&inverted, 4) == WM_CRITICAL);
    CHECK(wm_thresholds_evaluate(&inverted, 2) == WM_OK);
    wm_thresholds none = {0};
    CHECK(wm_thresholds_evaluate(&none, 1e9) == WM_OK);
    wm_thresholds only_crit = {false, {0}, true, wm_range_lower(1)};
    CHECK(wm_thresholds_evaluate(&only_crit, 0.5) == WM_CRITICAL);
}

static void test_states(void) {
    CHECK(wm_state_worst(WM_OK, WM_WARNING) == WM_WARNING);
    CHECK(wm_state_worst(WM_WARNING, WM_UNKNOWN) == WM_UNKNOWN);
    CHECK(wm_state_worst(WM_UNKNOWN, WM_CRITICAL) == WM_CRITICAL);
    CHECK(wm_state_worst(WM_CRITICAL, WM_UNKNOWN) == WM_CRITICAL);
    CHECK(wm_state_worst(WM_CRITICAL, WM_OK) == WM_CRITICAL);
    CHECK_STR(wm_state_name(WM_WARNING), "WARNING");
    CHECK(WM_OK == 0 && WM_WARNING == 1 && WM_CRITICAL == 2 && WM_UNKNOWN == 3);
    static const struct {
        const char *text;
        wm_state state;
    } good[] = {
        {"ok", WM_OK},          {"OK", WM_OK},           {"0", WM_OK},
        {"Warning", WM_WARNING}, {"warn", WM_WARNING},   {"1", WM_WARNING},
        {"CRITICAL", WM_CRITICAL}, {"crit", WM_CRITICAL}, {" 2 ", WM_CRITICAL},
        {"unknown", WM_UNKNOWN}, {"3", WM_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        wm_state s = WM_UNKNOWN;
        CHECK(wm_state_parse(good[i].text, &s) && s == good[i].state);
    }
    static const char *const bad[] = {"", "4", "okay", "w", "-1", "UNKNOWNX"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wm_state s;
        CHECK(!wm_state_parse(bad[i], &s));
    }
}

static const char *render(wm_render_fn fn, double v) {
    static char buf[WM_RENDER_MAX];
    fn(v, buf, sizeof buf);
    return buf;
}

static void test_render(void) {
    const double KIB = 1024.0;
    CHECK_STR(render(wm_render_bytes, 0), "0 B");
    CHECK_STR(render(wm_render_bytes, 512), "512 B");
    CHECK_STR(render(wm_render_bytes, 1023), "1023 B");
    CHECK_STR(render(wm_render_bytes, KIB), "1.00 KiB");
    CHECK_STR(render(wm_render_bytes, 1.5 * KIB * KIB), "1.50 MiB");
    CHECK_STR(render(wm_render_bytes, 1.5 * KIB * KIB * KIB), "1.50 GiB");
    CHECK_STR(render(wm_render_bytes, 2 * pow(KIB, 4)), "2.00 TiB");
    CHECK_STR(render(wm_render_bytes, 3 * pow(KIB, 5)), "3.00 PiB");
    CHECK_STR(render(wm_render_bytes, KIB * KIB - 1), "1.00 MiB");
    CHECK_STR(render(wm_render_bytes, -2048), "-2.00 KiB");

    CHECK_STR(render(wm_render_percent, 89.5), "89.5%");
    CHECK_STR(render(wm_render_percent, 100), "100%");
    CHECK_STR(render(wm_render_percent, 0), "0%");
    CHECK_STR(render(wm_render_percent, 33.3333), "33.33%");
    CHECK_STR(render(wm_render_percent, 12.999), "13%");
    CHECK_STR(render(wm_render_percent, 0.001), "<0.01%");

    CHECK_STR(render(wm_render_seconds, 0), "0 s");
    CHECK_STR(render(wm_render_seconds, 0.00085), "850 \xc2\xb5s");
    CHECK_STR(render(wm_render_seconds, 0.0015), "1.5 ms");
    CHECK_STR(render(wm_render_seconds, 0.002), "2 ms");
    CHECK_STR(render(wm_render_seconds, 0.012), "12 ms");
    CHECK_STR(render(wm_render_seconds, 0.9994), "999 ms");
    CHECK_STR(render(wm_render_seconds, 0.9996), "1.00 s");
    CHECK_STR(render(wm_render_seconds, 1.2), "1.20 s");
    CHECK_STR(render(wm_render_seconds, 303), "5 min 3 s");
    CHECK_STR(render(wm_render_seconds, 7500), "2 h 5 min");
    CHECK_STR(render(wm_render_seconds, 4 * 86400.0 + 3 * 3600.0), "4 d 3 h");
    CHECK_STR(render(wm_render_seconds, -0.5), "-500 ms");

    char buf[32];
    wm_render_float(-0.0001, 2, buf, sizeof buf);
    CHECK_STR(buf, "0.00");
    wm_render_float(-1.5, 1, buf, sizeof buf);
    CHECK_STR(buf, "-1.5");
    wm_render_float(2.0, 0, buf, sizeof buf);
    CHECK_STR(buf, "2");
    CHECK_STR(render(wm_render_integer, 41.6), "42");

    /* A buffer too small is truncated and terminated; the full length is returned. */
    char tiny[4];
    CHECK(wm_render_bytes(1.5 * KIB * KIB, tiny, sizeof tiny) == strlen("1.50 MiB"));
    CHECK_STR(tiny, "1.5");

    wm_format_number(0.1, buf, sizeof buf);
    CHECK_STR(buf, "0.1");
    wm_format_number(1e21, buf, sizeof buf);
    CHECK_STR(buf, "1000000000000000000000");
    wm_format_number(-0.0, buf, sizeof buf);
    CHECK_STR(buf, "0");
    wm_format_number(85.25, buf, sizeof buf);
    CHECK_STR(buf, "85.25");
}

static void test_levels(void) {
    wm_levels l = wm_levels_upper(80, 90);
    CHECK(wm_levels_evaluate(&l, 79.999) == WM_OK);
    CHECK(wm_levels_evaluate(&l, 80) == WM_WARNING);
    CHECK(wm_levels_evaluate(&l, 89.999) == WM_WARNING);
    CHECK(wm_levels_evaluate(&l, 90) == WM_CRITICAL);
    l = wm_levels_lower(10, 5);
    CHECK(wm_levels_evaluate(&l, 10) == WM_OK);
    CHECK(wm_levels_evaluate(&l, 9.99) == WM_WARNING);
    CHECK(wm_levels_evaluate(&l, 5) == WM_WARNING);
    CHECK(wm_levels_evaluate(&l, 4.99) == WM_CRITICAL);
    l = wm_levels_upper(95, 90); /* inverted: critical decides first */
    CHECK(wm_levels_evaluate(&l, 92) == WM_CRITICAL);
    wm_levels none = wm_levels_none();
    CHECK(wm_levels_evaluate(&none, 1e300) == WM_OK);

    char summary[128];
    wm_levels upper = wm_levels_upper(80, 90);
    CHECK(wm_check_levels(50, &upper, "Usage", wm_render_percent, summary, sizeof summary) == WM_OK);
    CHECK_STR(summary, "Usage: 50%");
    CHECK(wm_check_levels(90, &upper, "Usage", wm_render_percent, summary, sizeof summary) ==
          WM_CRITICAL);
    CHECK_STR(summary, "Usage: 90% (warn/crit at 80%/90%)");
    CHECK(wm_check_levels(85.25, &upper, "Usage", wm_render_percent, summary, sizeof summary) ==
          WM_WARNING);
    CHECK_STR(summary, "Usage: 85.25% (warn/crit at 80%/90%)");
    wm_levels lower = wm_levels_lower(10 * 1024.0, 5 * 1024.0);
    CHECK(wm_check_levels(6 * 1024.0, &lower, "Free", wm_render_bytes, summary, sizeof summary) ==
          WM_WARNING);
    CHECK_STR(summary, "Free: 6.00 KiB (warn/crit below 10.00 KiB/5.00 KiB)");
}

static const char *perf(wm_metric m) {
    static char buf[256];
    wm_metric_format(&m, buf, sizeof buf);
    return buf;
}

static void test_metrics(void) {
    static const char *const good[] = {"load1", "fs_used", "_x", "a"};
    static const char *const bad[] = {"", "1load", "Load", "fs-used", "fs used", "t\xc3\xadme"};
    for (size_t i = 0; i < 4; i++) {
        CHECK(wm_metric_label_valid(good[i]));
    }
    for (size_t i = 0; i < 6; i++) {
        CHECK(!wm_metric_label_valid(bad[i]));
    }
    wm_metric p = wm_metric_percent("mem_used_percent", 42);
    CHECK(strcmp(p.uom, "%") == 0 && p.has_min && p.min == 0 && p.has_max && p.max == 100);
    CHECK_STR(wm_metric_bytes("fs_used", 1024).uom, "B");
    CHECK_STR(wm_metric_counter("bytes_in", 3).uom, "c");
    wm_metric n = wm_metric_number("load1", 0.5);
    CHECK(!n.has_min && !n.has_max);

    wm_levels up = wm_levels_upper(80, 90);
    CHECK_STR(perf(wm_metric_with_levels(wm_metric_percent("usage", 50), &up)),
              "usage=50%;80;90;0;100");
    wm_levels low = wm_levels_lower(10, 5);
    CHECK_STR(perf(wm_metric_with_levels(wm_metric_bytes("free", 5), &low)), "free=5B;10:;5:;0");
    CHECK_STR(perf(wm_metric_number("load1", 0.5)), "load1=0.5");
    CHECK_STR(perf(wm_metric_seconds("response_time", 0.0123456789)),
              "response_time=0.012346s;;;0");
    wm_thresholds t = {true, range("@10:20"), false, {0}};
    CHECK_STR(perf(wm_metric_with_thresholds(wm_metric_number("x", 15), &t)), "x=15;@10:20");
    CHECK_STR(perf(wm_metric_new("odd label", NAN, "s")), "'odd label'=U");
}

static void test_output(void) {
    wm_output out;
    wm_output_init(&out);
    CHECK(wm_output_state(&out) == WM_OK);
    wm_output_ok(&out, "A: %d", 1);
    wm_output_warn(&out, "B: 2");
    CHECK(wm_output_state(&out) == WM_WARNING);
    wm_output_unknown(&out, "C: ?");
    CHECK(wm_output_state(&out) == WM_UNKNOWN);
    wm_output_crit(&out, "D: 4");
    wm_output_add(&out, WM_OK, "E: two\nlines");
    CHECK(wm_output_state(&out) == WM_CRITICAL);
    char summary[256];
    wm_output_summary(&out, summary, sizeof summary);
    CHECK_STR(summary, "A: 1, B: 2, C: ?, D: 4, E: two lines");
    wm_output_details(&out, "line %d", 1);
    wm_output_details(&out, "line 2");
    CHECK(out.partials[3].details == NULL);
    CHECK_STR(out.partials[4].details, "line 1\nline 2");
    wm_output_free(&out);
    CHECK(out.n_partials == 0);

    wm_output_init(&out);
    wm_output_ok(&out, "Connected");
    wm_levels none = wm_levels_none();
    CHECK(wm_output_response_time(&out, 0.012, &none, 9.5) == WM_OK);
    wm_output_summary(&out, summary, sizeof summary);
    CHECK_STR(summary, "Connected, Response time: 12 ms");
    CHECK(out.n_metrics == 1);
    CHECK_STR(perf(out.metrics[0]), "response_time=0.012s;;;0;9.5");
    wm_levels slow = wm_levels_upper(1, 2);
    CHECK(wm_output_response_time(&out, 3, &slow, 10) == WM_CRITICAL);
    CHECK_STR(out.partials[2].summary, "Response time: 3.00 s (warn/crit at 1.00 s/2.00 s)");
    CHECK_STR(perf(out.metrics[1]), "response_time=3s;1;2;0;10");
    CHECK(out.misuse[0] == '\0');

    /* Misuse is recorded, not added: the SDK turns it into a failed run. */
    wm_output_metric(&out, wm_metric_new("Response Time", 1, "s"));
    CHECK(contains(out.misuse, "metric label 'Response Time'"));
    CHECK(out.n_metrics == 2);
    wm_output_free(&out);
    wm_output_init(&out);
    wm_output_metric(&out, wm_metric_new("time", 1, "ms"));
    CHECK_STR(out.misuse, "metric 'time': unit 'ms' is not one of \"\", s, %, B, c");
    wm_output_free(&out);
}

static void test_params(void) {
    wm_error err = {0};
    wm_params p = PARAMS({"port", "80"}, {"host", "x"}, {"port", "8080"});
    CHECK_STR(wm_param_get(&p, "port"), "8080");
    CHECK(wm_param_get(&p, "nope") == NULL);

    p = PARAMS({"port", "abc"}, {"big", "70000"}, {"n", "1e3x"}, {"zero", "0"}, {"sp", " 3 "});
    long long i;
    CHECK(!wm_param_int(&p, "port", 80, 1, 65535, &i, &err));
    CHECK(err.kind == WM_ERROR_BAD_PARAMS);
    CHECK_STR(err.message, "parameter 'port': expected an integer from 1 to 65535, got 'abc'");
    CHECK(!wm_param_int(&p, "zero", 80, 1, 65535, &i, &err));
    CHECK_STR(err.message, "parameter 'zero': expected an integer from 1 to 65535, got '0'");
    CHECK(!wm_param_int(&p, "big", 80, 0, 65535, &i, &err));
    CHECK_STR(err.message, "parameter 'big': expected an integer from 0 to 65535, got '70000'");
    CHECK(wm_param_int(&p, "sp", 0, 0, 10, &i, &err) && i == 3);
    CHECK(wm_param_int(&p, "missing", 7, 0, 10, &i, &err) && i == 7);
    double d;
    CHECK(!wm_param_number(&p, "n", 0, &d, &err));
    CHECK_STR(err.message, "parameter 'n': expected a number, got '1e3x'");
    wm_params x = PARAMS({"x", "5"});
    CHECK(!wm_param_number_in(&x, "x", 1, 0, 1, &d, &err));
    CHECK_STR(err.message, "parameter 'x': expected a number from 0 to 1, got '5'");
    CHECK(wm_param_number_in(&x, "missing", 2.5, 0, 10, &d, &err) && d == 2.5);
    wm_params big = PARAMS({"huge", "99999999999999999999"});
    CHECK(!wm_param_int(&big, "huge", 0, 0, 1, &i, &err));

    const char *v;
    CHECK(!wm_param_required(&p, "size", &v, &err));
    CHECK_STR(err.message, "parameter 'size' is required");
    CHECK(wm_param_required(&p, "port", &v, &err) && strcmp(v, "abc") == 0);

    wm_params nums = PARAMS({"a", "nan"}, {"b", "inf"}, {"c", "-1.5"});
    CHECK(!wm_param_number(&nums, "a", 0, &d, &err));
    CHECK(!wm_param_number(&nums, "b", 0, &d, &err));
    CHECK(wm_param_number(&nums, "c", 0, &d, &err) && d == -1.5);

    wm_params durations = PARAMS({"a", "10s"}, {"b", "500ms"}, {"c", "2m"}, {"d", "1.5"},
                                 {"e", "1h"}, {"f", "2min"}, {"g", "-1s"}, {"h", "10 parsecs"},
                                 {"i", "s"}, {"j", "250us"});
    static const struct {
        const char *name;
        double seconds;
    } dur[] = {{"a", 10}, {"b", 0.5}, {"c", 120}, {"d", 1.5}, {"e", 3600}, {"f", 120},
               {"j", 0.00025}, {"zz", 0}};
    for (size_t k = 0; k < sizeof dur / sizeof dur[0]; k++) {
        CHECK(wm_param_duration(&durations, dur[k].name, 0, &d, &err));
        CHECK(fabs(d - dur[k].seconds) < 1e-12);
    }
    static const char *const bad_durations[] = {"g", "h", "i"};
    for (size_t k = 0; k < 3; k++) {
        char prefix[80];
        snprintf(prefix, sizeof prefix, "parameter '%s': expected a duration such as 10s",
                 bad_durations[k]);
        CHECK(!wm_param_duration(&durations, bad_durations[k], 0, &d, &err));
        CHECK(starts_with(err.message, prefix));
    }

    wm_params bools = PARAMS({"a", "Yes"}, {"b", "off"}, {"c", "1"}, {"d", "maybe"});
    bool b;
    CHECK(wm_param_bool(&bools, "a", false, &b, &err) && b);
    CHECK(wm_param_bool(&bools, "b", true, &b, &err) && !b);
    CHECK(wm_param_bool(&bools, "c", false, &b, &err) && b);
    CHECK(wm_param_bool(&bools, "zz", true, &b, &err) && b);
    CHECK(!wm_param_bool(&bools, "d", false, &b, &err));
    CHECK_STR(err.message,
              "parameter 'd': expected true or false (also yes/no, on/off, 1/0), got 'maybe'");

    wm_params st = PARAMS({"state", "crit"}, {"bad", "nope"}, {"w", "10:"}, {"c", "20:10"});
    wm_state s;
    CHECK(wm_param_state(&st, "state", WM_OK, &s, &err) && s == WM_CRITICAL);
    CHECK(wm_param_state(&st, "none", WM_WARNING, &s, &err) && s == WM_WARNING);
    CHECK(!wm_param_state(&st, "bad", WM_OK, &s, &err));
    CHECK_STR(err.message, "parameter 'bad': expected a state (OK, WARNING, CRITICAL, UNKNOWN, "
                           "WARN, CRIT or 0-3), got 'nope'");
    wm_range r;
    bool given;
    CHECK(wm_param_range(&st, "w", &given, &r, &err) && given && r.start == 10 && !r.has_end);
    CHECK(wm_param_range(&st, "zz", &given, &r, &err) && !given);
    wm_thresholds t;
    CHECK(!wm_param_thresholds(&st, "w", "c", &t, &err));
    CHECK_STR(err.message, "parameter 'c': invalid range '20:10': start 20 is greater than end "
                           "10; expected N, N:, ~:N, N:M or @N:M");

    wm_params lv = PARAMS({"warning", "70"}, {"critical", "95"}, {"w2", "x"});
    wm_levels l;
    const double def[2] = {80, 90};
    CHECK(wm_param_levels_upper(&lv, "warning", "critical", def, &l, &err));
    CHECK(l.has_upper && l.upper_warn == 70 && l.upper_crit == 95);
    CHECK(wm_param_levels_upper(&lv, "warning", "crit2", def, &l, &err));
    CHECK(l.upper_warn == 70 && l.upper_crit == 90);
    const double low[2] = {20, 10};
    CHECK(wm_param_levels_lower(&lv, "warn2", "critical", low, &l, &err));
    CHECK(l.has_lower && l.lower_warn == 20 && l.lower_crit == 95);
    CHECK(wm_param_levels_upper(&lv, "a", "b", NULL, &l, &err) && !l.has_upper && !l.has_lower);
    CHECK(!wm_param_levels_upper(&lv, "warning", "b", NULL, &l, &err));
    CHECK_STR(err.message, "parameter 'warning' is given without 'b': give both or neither");
    CHECK(!wm_param_levels_upper(&lv, "w2", "critical", NULL, &l, &err));
    CHECK_STR(err.message, "parameter 'w2': expected a number, got 'x'");

    wm_params sizes = PARAMS({"a", "10GB"}, {"b", "1.5 t"}, {"c", "10"}, {"d", "-2KiB"});
    CHECK(wm_param_bytes(&sizes, "a", &given, &d, &err) && given && d == 10 * pow(1024, 3));
    CHECK(wm_param_bytes(&sizes, "b", &given, &d, &err) && d == 1.5 * pow(1024, 4));
    CHECK(wm_param_bytes(&sizes, "zz", &given, &d, &err) && !given);
    CHECK(!wm_param_bytes(&sizes, "c", &given, &d, &err));
    CHECK(starts_with(err.message, "parameter 'c': expected a size such as 500MiB"));
    CHECK(!wm_param_bytes(&sizes, "d", &given, &d, &err));
    CHECK(wm_parse_bytes("7B", &d) && d == 7);
    CHECK(wm_parse_bytes("2 KiB", &d) && d == 2048);
    CHECK(!wm_parse_bytes("GiB", &d));

    wm_params names = PARAMS({"port", "80"}, {"prot", "tcp"});
    static const char *const known_ok[] = {"port", "prot", NULL};
    static const char *const known[] = {"port", "timeout", NULL};
    static const char *const nothing[] = {NULL};
    CHECK(wm_params_reject_unknown(&names, known_ok, &err));
    CHECK(!wm_params_reject_unknown(&names, known, &err));
    CHECK_STR(err.message, "unknown parameter 'prot' (this check understands: port, timeout)");
    CHECK(!wm_params_reject_unknown(&names, nothing, &err));
    CHECK_STR(err.message, "unknown parameter 'port' (this check understands: none)");
}

static void test_requests(void) {
    wm_error err = {0};
    double s;
    wm_request req = {"h", "", NULL, {NULL, 0}, 10000};
    CHECK(wm_request_io_timeout(&req, 10, &s, &err) && s == 9);
    req.timeout_ms = 60000;
    CHECK(wm_request_io_timeout(&req, 10, &s, &err) && s == 10);
    req.timeout_ms = 0;
    CHECK(wm_request_io_timeout(&req, 10, &s, &err) && s == 10);
    wm_param two[] = {{"timeout", "2s"}};
    req.params = (wm_params){two, 1};
    req.timeout_ms = 10000;
    CHECK(wm_request_io_timeout(&req, 10, &s, &err) && s == 2);
    wm_param thirty[] = {{"timeout", "30"}};
    req.params = (wm_params){thirty, 1};
    CHECK(wm_request_io_timeout(&req, 10, &s, &err) && s == 9);
    wm_param zero[] = {{"timeout", "0"}};
    req.params = (wm_params){zero, 1};
    CHECK(!wm_request_io_timeout(&req, 10, &s, &err) && contains(err.message, "parameter 'timeout'"));
    wm_param soon[] = {{"timeout", "soon"}};
    req.params = (wm_params){soon, 1};
    CHECK(!wm_request_io_timeout(&req, 10, &s, &err) && contains(err.message, "got 'soon'"));

    const char *item;
    CHECK(!wm_request_item(&req, &item, &err) && err.kind == WM_ERROR_BAD_PARAMS);
    req.item = "/";
    CHECK(wm_request_item(&req, &item, &err) && strcmp(item, "/") == 0);

    CHECK(!wm_failed(&err, "Cannot read %s", "x") && err.kind == WM_ERROR_FAILED);
    CHECK_STR(err.message, "Cannot read x");
    CHECK(!wm_item_not_found(&err) && err.kind == WM_ERROR_ITEM_NOT_FOUND);
}

/*
 * The shared test vectors of the four SDKs (Rust, Python, JavaScript, C):
 * the same cases and numbers in each.
 */

/* A rate case: previous (time, value) if any, value, now, overflow, the rate if any, why. */
typedef struct rate_case {
    bool have_previous;
    double last_time, last_value, value, now;
    wm_overflow overflow;
    bool have_rate;
    double rate;
    const char *why;
} rate_case;

#define NEGATIVE WM_OVERFLOW_NEGATIVE
#define RAISE WM_OVERFLOW_RAISE
static const rate_case RATE_CASES[] = {
    {false, 0, 0, 100, 10, NEGATIVE, false, 0, "first sample initialises"},
    {false, 0, 0, 100, 10, RAISE, false, 0, "first sample initialises"},
    {true, 10, 100, 160, 40, NEGATIVE, true, 2, "growing"},
    {true, 10, 100, 160, 40, RAISE, true, 2, "growing"},
    {true, 10, 100, 100, 20, NEGATIVE, true, 0, "unchanged"},
    {true, 10, 100, 100, 20, RAISE, true, 0, "unchanged"},
    {true, 10, 100, 50, 20, NEGATIVE, true, -5, "went down: negative rate"},
    {true, 10, 100, 50, 20, RAISE, false, 0, "went down: wrap or reset"},
    {true, 10, 100, 150, 10, NEGATIVE, false, 0, "no time passed"},
    {true, 10, 100, 150, 10, RAISE, false, 0, "no time passed"},
    {true, 10, 100, 150, 5, NEGATIVE, false, 0, "clock went back"},
    {true, 10, 100, 150, 5, RAISE, false, 0, "clock went back"},
    {true, 10, 23, 56, 70, NEGATIVE, true, 0.55, "Checkmk's get_rate example"},
};
#undef NEGATIVE
#undef RAISE

/*
 * An average series: backlog minutes and (time, value, average) in order,
 * each call continuing from the state the previous one returned. The first
 * is Checkmk's test_get_average.
 */
typedef struct average_step {
    double time, value, average;
} average_step;

static const average_step AVERAGE_SERIES_1[] = {{0, 23, 23}, {60, 42, 32.5}, {120, 42, 37.25}, {300, 42, 41.40625}};
static const average_step AVERAGE_SERIES_5[] = {
    {0, 10, 10},
    {60, 20, 15},
    {60, 99, 15}, /* no time passed: the last average */
    {30, 99, 15}, /* clock went back: the last average */
    {120, 30, 19.393398282201787},
    {600, 30, 26.501126281736973},
    {660, 0, 23.07057041254784},
};
static const struct {
    double backlog_minutes;
    const average_step *steps;
    size_t n;
} AVERAGE_SERIES[] = {
    {1, AVERAGE_SERIES_1, sizeof AVERAGE_SERIES_1 / sizeof *AVERAGE_SERIES_1},
    {5, AVERAGE_SERIES_5, sizeof AVERAGE_SERIES_5 / sizeof *AVERAGE_SERIES_5},
};

/* Equal up to 1e-12 relative to the expected value (pow may differ in the last bit). */
static bool close_to(double actual, double expected) {
    return fabs(actual - expected) <= 1e-12 * fmax(fabs(expected), 1.0);
}

static void test_rate_cases_and_average_series(void) {
    for (size_t i = 0; i < sizeof RATE_CASES / sizeof *RATE_CASES; i++) {
        const rate_case *c = &RATE_CASES[i];
        double rate = 12345;
        bool have = wm_compute_rate_with(c->have_previous, c->last_time, c->last_value, c->value, c->now,
                                         c->overflow, &rate);
        expectations++;
        if (have != c->have_rate || (have && rate != c->rate) || (!have && rate != 12345)) {
            failures++;
            fprintf(stderr, "rate case %zu (%s): got %d %g\n", i, c->why, have, rate);
        }
        if (c->overflow == WM_OVERFLOW_RAISE) {
            rate = 12345;
            have = wm_compute_rate(c->have_previous, c->last_time, c->last_value, c->value, c->now, &rate);
            CHECK(have == c->have_rate && (!have || rate == c->rate));
        }
    }
    for (size_t s = 0; s < sizeof AVERAGE_SERIES / sizeof *AVERAGE_SERIES; s++) {
        wm_average_state state;
        const wm_average_state *previous = NULL;
        for (size_t i = 0; i < AVERAGE_SERIES[s].n; i++) {
            const average_step *step = &AVERAGE_SERIES[s].steps[i];
            state = wm_compute_average(previous, step->value, step->time, AVERAGE_SERIES[s].backlog_minutes);
            previous = &state;
            expectations++;
            if (!close_to(state.average, step->average)) {
                failures++;
                fprintf(stderr, "backlog %g, [%zu]: got %.17g, expected %.17g\n", AVERAGE_SERIES[s].backlog_minutes,
                        i, state.average, step->average);
            }
        }
    }
    wm_average_state first = wm_compute_average(NULL, 7, 100, 5);
    CHECK(first.start_time == 100 && first.last_time == 100 && first.average == 7);
    wm_average_state before = {0, 60, 15};
    wm_average_state after = wm_compute_average(&before, 99, 30, 5);
    CHECK(after.start_time == 0 && after.last_time == 60 && after.average == 15); /* time anomaly keeps the state */
}

static void test_items_rates_addresses(void) {
    wm_items items;
    wm_items_init(&items);
    wm_items_add(&items, "/");
    wm_items_add(&items, "/var");
    wm_items_add_param(&items, "warning", "80");
    CHECK(items.len == 2 && items.items[0].n_params == 0 && items.items[1].n_params == 1);
    CHECK_STR(items.items[1].params[0].value, "80");
    wm_items_free(&items);
    CHECK(items.len == 0);

    double rate = -1;
    CHECK(!wm_compute_rate(false, 0, 0, 100, 10, &rate));
    CHECK(wm_compute_rate(true, 10, 100, 160, 40, &rate) && rate == 2);
    CHECK(wm_compute_rate(true, 10, 100, 100, 20, &rate) && rate == 0);
    CHECK(!wm_compute_rate(true, 10, 100, 50, 20, &rate));
    CHECK(!wm_compute_rate(true, 10, 100, 150, 10, &rate));
    CHECK(!wm_compute_rate(true, 10, 100, 150, 5, &rate));

    wm_ip ip;
    char buf[64];
    CHECK(wm_parse_ip("192.0.2.1", &ip) && !ip.v6 && ip.bytes[0] == 192 && ip.bytes[3] == 1);
    wm_format_endpoint(&ip, 6379, buf, sizeof buf);
    CHECK_STR(buf, "192.0.2.1:6379");
    CHECK(wm_parse_ip(" [2001:db8::1] ", &ip) && ip.v6 && ip.bytes[0] == 0x20 && ip.bytes[15] == 1);
    wm_format_endpoint(&ip, 25, buf, sizeof buf);
    CHECK_STR(buf, "[2001:db8::1]:25");
    CHECK(!wm_parse_ip("", &ip));
    CHECK(!wm_parse_ip("localhost", &ip));
    CHECK(!wm_parse_ip("256.1.1.1", &ip));
}

int main(void) {
    test_ranges();
    test_thresholds();
    test_states();
    test_render();
    test_levels();
    test_metrics();
    test_output();
    test_params();
    test_requests();
    test_items_rates_addresses();
    test_rate_cases_and_average_series();
    if (failures) {
        fprintf(stderr, "%d of %d expectations failed\n", failures, expectations);
        return 1;
    }
    printf("all %d expectations passed\n", expectations);
    return 0;
}
