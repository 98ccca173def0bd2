/*
 * wasmon_check.c - the portable part of the wasmon C SDK: states, errors,
 * ranges, levels, rendering, metrics, the output builder and parameters.
 * Plain C11 and libc, no WASI: it builds natively for the unit tests
 * (sdk/c/test/) and for wasm32-wasi in checks and classic plugins. The
 * behaviour and the texts follow the Rust SDK (guest-sdk/src/).
 */
#define _POSIX_C_SOURCE 200809L

#include "wasmon_check.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* malloc that never returns NULL: out of memory ends the run (the host
 * reports the memory limit). */
static void *xrealloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    if (!p) {
        abort();
    }
    return p;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

/* vsnprintf into a fresh heap string. */
static char *vformat(const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        return xstrdup("");
    }
    char *s = xrealloc(NULL, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

/* Appends to buf at *pos like snprintf, tracking the full length. */
static void append(char *buf, size_t size, size_t *pos, const char *fmt, ...) WM_PRINTF(4, 5);
static void append(char *buf, size_t size, size_t *pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n;
    if (*pos < size) {
        n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
    } else {
        n = vsnprintf(NULL, 0, fmt, ap);
    }
    va_end(ap);
    if (n > 0) {
        *pos += (size_t)n;
    }
}

/* Copies `src` into buf like snprintf("%s"). */
static size_t copy_out(const char *src, char *buf, size_t size) {
    size_t pos = 0;
    append(buf, size, &pos, "%s", src);
    return pos;
}

static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The text without blanks around it, in a fresh heap string. */
static char *trimmed_copy(const char *text) {
    const char *start = text;
    while (*start && is_blank(*start)) {
        start++;
    }
    size_t len = strlen(start);
    while (len > 0 && is_blank(start[len - 1])) {
        len--;
    }
    char *s = xrealloc(NULL, len + 1);
    memcpy(s, start, len);
    s[len] = '\0';
    return s;
}

static bool equals_ignore_case(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) {
            return false;
        }
    }
    return *a == *b;
}

/* ------------------------------------------------------------------ */
/* States                                                              */
/* ------------------------------------------------------------------ */

int wm_state_severity(wm_state state) {
    switch (state) {
    case WM_OK:
        return 0;
    case WM_WARNING:
        return 1;
    case WM_UNKNOWN:
        return 2;
    case WM_CRITICAL:
        return 3;
    }
    return 2;
}

wm_state wm_state_worst(wm_state a, wm_state b) {
    return wm_state_severity(b) > wm_state_severity(a) ? b : a;
}

const char *wm_state_name(wm_state state) {
    switch (state) {
    case WM_OK:
        return "OK";
    case WM_WARNING:
        return "WARNING";
    case WM_CRITICAL:
        return "CRITICAL";
    case WM_UNKNOWN:
        return "UNKNOWN";
    }
    return "UNKNOWN";
}

bool wm_state_parse(const char *text, wm_state *out) {
    static const struct {
        const char *name;
        wm_state state;
    } names[] = {
        {"OK", WM_OK},           {"0", WM_OK},          {"WARNING", WM_WARNING},
        {"WARN", WM_WARNING},    {"1", WM_WARNING},     {"CRITICAL", WM_CRITICAL},
        {"CRIT", WM_CRITICAL},   {"2", WM_CRITICAL},    {"UNKNOWN", WM_UNKNOWN},
        {"3", WM_UNKNOWN},
    };
    char *t = trimmed_copy(text);
    bool found = false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (equals_ignore_case(t, names[i].name)) {
            *out = names[i].state;
            found = true;
            break;
        }
    }
    free(t);
    return found;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static bool set_error(wm_error *err, wm_error_kind kind, const char *fmt, va_list ap) {
    if (err) {
        err->kind = kind;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return false;
}

bool wm_bad_params(wm_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_error(err, WM_ERROR_BAD_PARAMS, fmt, ap);
    va_end(ap);
    return false;
}

bool wm_bad_param(wm_error *err, const char *name, const char *expected, const char *got) {
    return wm_bad_params(err, "parameter '%s': expected %s, got '%s'", name, expected, got);
}

bool wm_invalid_param(wm_error *err, const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *message = vformat(fmt, ap);
    va_end(ap);
    wm_bad_params(err, "parameter '%s': %s", name, message);
    free(message);
    return false;
}

bool wm_failed(wm_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_error(err, WM_ERROR_FAILED, fmt, ap);
    va_end(ap);
    return false;
}

bool wm_item_not_found(wm_error *err) {
    if (err) {
        err->kind = WM_ERROR_ITEM_NOT_FOUND;
        err->message[0] = '\0';
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */
/* ------------------------------------------------------------------ */

bool wm_parse_number(const char *text, double *out) {
    if (!text || !*text || is_blank(text[0])) {
        return false;
    }
    for (const char *c = text; *c; c++) {
        /* Only what a decimal number may contain: no hex, inf or nan. */
        if (!(isdigit((unsigned char)*c) || *c == '.' || *c == '-' || *c == '+' || *c == 'e' ||
              *c == 'E')) {
            return false;
        }
    }
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v)) {
        return false;
    }
    *out = v;
    return true;
}

size_t wm_format_number(double value, char *buf, size_t size) {
    if (value == 0.0 || !isfinite(value)) {
        return copy_out(value == 0.0 ? "0" : (isnan(value) ? "NaN" : (value > 0 ? "inf" : "-inf")),
                        buf, size);
    }
    /* The fewest significant digits that read back as the same double,
     * then written without exponent (as Rust's Display for f64). */
    char tmp[64];
    int digits = 1;
    for (; digits <= 17; digits++) {
        snprintf(tmp, sizeof tmp, "%.*e", digits - 1, value);
        if (strtod(tmp, NULL) == value) {
            break;
        }
    }
    const char *e = strchr(tmp, 'e');
    int exponent = e ? atoi(e + 1) : 0;
    int decimals = digits - 1 - exponent;
    if (decimals < 0) {
        decimals = 0;
    }
    size_t pos = 0;
    append(buf, size, &pos, "%.*f", decimals, value);
    return pos;
}

/* The way the host writes perfdata numbers: at most six decimals and 15
 * significant digits, then the shortest form. */
static size_t format_perf_number(double value, char *buf, size_t size) {
    if (!isfinite(value)) {
        return wm_format_number(value, buf, size);
    }
    double magnitude = fabs(value);
    int int_digits = magnitude >= 1.0 ? (int)floor(log10(magnitude)) + 1 : 0;
    int places = 15 - int_digits;
    if (places < 0) {
        places = 0;
    }
    if (places > 6) {
        places = 6;
    }
    double scale = pow(10.0, places);
    double rounded = round(value * scale) / scale;
    return wm_format_number(isfinite(rounded) ? rounded : value, buf, size);
}

size_t wm_render_float(double value, int decimals, char *buf, size_t size) {
    char tmp[WM_RENDER_MAX * 8];
    snprintf(tmp, sizeof tmp, "%.*f", decimals, value);
    const char *shown = tmp;
    if (tmp[0] == '-' && strspn(tmp + 1, "0.") == strlen(tmp + 1)) {
        shown = tmp + 1; /* no "-0.00" */
    }
    return copy_out(shown, buf, size);
}

/* At most `decimals` digits, trailing zeros and point dropped. */
static size_t render_trimmed(double value, int decimals, char *buf, size_t size) {
    char tmp[WM_RENDER_MAX * 8];
    wm_render_float(value, decimals, tmp, sizeof tmp);
    if (strchr(tmp, '.')) {
        size_t n = strlen(tmp);
        while (n > 0 && tmp[n - 1] == '0') {
            tmp[--n] = '\0';
        }
        while (n > 0 && tmp[n - 1] == '.') {
            tmp[--n] = '\0';
        }
    }
    return copy_out(tmp, buf, size);
}

size_t wm_render_integer(double value, char *buf, size_t size) {
    return wm_render_float(value, 0, buf, size);
}

size_t wm_render_bytes(double value, char *buf, size_t size) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    char number[WM_RENDER_MAX * 8];
    size_t pos = 0;
    if (fabs(value) < 1024.0) {
        wm_render_float(value, 0, number, sizeof number);
        append(buf, size, &pos, "%s B", number);
        return pos;
    }
    double scaled = value / 1024.0;
    size_t unit = 0;
    while (unit + 1 < sizeof units / sizeof units[0]) {
        /* Scale up only when the rounded figure would reach 1024. */
        if (round(fabs(scaled) * 100.0) / 100.0 < 1024.0) {
            break;
        }
        scaled /= 1024.0;
        unit++;
    }
    wm_render_float(scaled, 2, number, sizeof number);
    append(buf, size, &pos, "%s %s", number, units[unit]);
    return pos;
}

size_t wm_render_percent(double value, char *buf, size_t size) {
    size_t pos = 0;
    if (value != 0.0 && fabs(value) < 0.005) {
        append(buf, size, &pos, "%s<0.01%%", value < 0 ? "-" : "");
        return pos;
    }
    char number[WM_RENDER_MAX * 8];
    render_trimmed(value, 2, number, sizeof number);
    append(buf, size, &pos, "%s%%", number);
    return pos;
}

size_t wm_render_seconds(double value, char *buf, size_t size) {
    char number[WM_RENDER_MAX * 8];
    size_t pos = 0;
    if (value < 0.0) {
        char rest[WM_RENDER_MAX * 8];
        wm_render_seconds(-value, rest, sizeof rest);
        append(buf, size, &pos, "-%s", rest);
        return pos;
    }
    if (value == 0.0) {
        return copy_out("0 s", buf, size);
    }
    if (value < 0.0009995) {
        wm_render_float(value * 1e6, 0, number, sizeof number);
        append(buf, size, &pos, "%s \xc2\xb5s", number);
    } else if (value < 0.00995) {
        render_trimmed(value * 1e3, 1, number, sizeof number);
        append(buf, size, &pos, "%s ms", number);
    } else if (value < 0.9995) {
        wm_render_float(value * 1e3, 0, number, sizeof number);
        append(buf, size, &pos, "%s ms", number);
    } else if (value < 59.995) {
        wm_render_float(value, 2, number, sizeof number);
        append(buf, size, &pos, "%s s", number);
    } else {
        unsigned long long total = (unsigned long long)llround(value);
        unsigned long long days = total / 86400, hours = total / 3600 % 24,
                           minutes = total / 60 % 60, secs = total % 60;
        if (days > 0) {
            append(buf, size, &pos, "%llu d %llu h", days, hours);
        } else if (hours > 0) {
            append(buf, size, &pos, "%llu h %llu min", hours, minutes);
        } else {
            append(buf, size, &pos, "%llu min %llu s", minutes, secs);
        }
    }
    return pos;
}

/* Splits "12.5 GiB" into the number (digits and points) and the unit. */
static bool split_number_unit(const char *text, double *number, char *unit, size_t unit_size) {
    size_t n = strspn(text, "0123456789.");
    if (n == 0 || n >= 64) {
        return false;
    }
    char digits[64];
    memcpy(digits, text, n);
    digits[n] = '\0';
    if (!wm_parse_number(digits, number)) {
        return false;
    }
    char *u = trimmed_copy(text + n);
    bool fits = strlen(u) < unit_size;
    if (fits) {
        strcpy(unit, u);
    }
    free(u);
    return fits;
}

bool wm_parse_bytes(const char *text, double *out) {
    static const struct {
        const char *unit;
        int power;
    } units[] = {
        {"b", 0},  {"k", 1},   {"kb", 1}, {"kib", 1}, {"m", 2},  {"mb", 2},
        {"mib", 2}, {"g", 3},  {"gb", 3}, {"gib", 3}, {"t", 4},  {"tb", 4},
        {"tib", 4},
    };
    char *t = trimmed_copy(text);
    double number;
    char unit[8];
    bool ok = split_number_unit(t, &number, unit, sizeof unit);
    free(t);
    if (!ok) {
        return false;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (equals_ignore_case(unit, units[i].unit)) {
            *out = number * pow(1024.0, units[i].power);
            return true;
        }
    }
    return false;
}

bool wm_parse_duration(const char *text, double *seconds) {
    static const struct {
        const char *unit;
        double factor;
    } units[] = {
        {"", 1.0}, {"s", 1.0}, {"ms", 1e-3}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6},
        {"m", 60.0}, {"min", 60.0}, {"h", 3600.0},
    };
    char *t = trimmed_copy(text);
    double number;
    char unit[8];
    bool ok = split_number_unit(t, &number, unit, sizeof unit);
    free(t);
    if (!ok) {
        return false;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].unit) == 0) {
            double s = number * units[i].factor;
            if (!isfinite(s) || s < 0 || s > 1.8e19) {
                return false;
            }
            *seconds = s;
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Ranges                                                              */
/* ------------------------------------------------------------------ */

#define RANGE_EXPECTED "expected N, N:, ~:N, N:M or @N:M"

static bool range_error(const char *text, char *why, size_t why_size, const char *fmt, ...)
    WM_PRINTF(4, 5);
static bool range_error(const char *text, char *why, size_t why_size, const char *fmt, ...) {
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        char *reason = vformat(fmt, ap);
        va_end(ap);
        snprintf(why, why_size, "invalid range '%s': %s; " RANGE_EXPECTED, text, reason);
        free(reason);
    }
    return false;
}

/* Parses one end of a range: a finite decimal number. */
static bool range_end(const char *whole, const char *part, double *out, char *why, size_t why_size) {
    if (wm_parse_number(part, out)) {
        return true;
    }
    return range_error(whole, why, why_size, "'%s' is not a number", part);
}

bool wm_range_parse(const char *text, wm_range *out, char *why, size_t why_size) {
    char *s = trimmed_copy(text);
    wm_range r = {.has_start = true, .start = 0.0, .has_end = true, .end = 0.0, .inside = false};
    bool ok = false;
    char *body = s;
    if (!*s) {
        range_error(text, why, why_size, "it is empty");
        goto done;
    }
    if (*body == '@') {
        r.inside = true;
        body++;
    }
    if (!*body) {
        range_error(text, why, why_size, "'@' must be followed by a range");
        goto done;
    }
    char *colon = strchr(body, ':');
    if (!colon) {
        if (strcmp(body, "~") == 0) {
            range_error(text, why, why_size, "'~' must be followed by ':' and an end");
            goto done;
        }
        if (!range_end(text, body, &r.end, why, why_size)) {
            goto done;
        }
    } else {
        *colon = '\0';
        const char *start = body, *end = colon + 1;
        /* As the Monitoring Plugins: an empty start means 0 (":10" is
         * "0:10"), an empty end means positive infinity. */
        if (strcmp(start, "~") == 0) {
            r.has_start = false;
        } else if (*start && !range_end(text, start, &r.start, why, why_size)) {
            goto done;
        }
        if (!*end) {
            r.has_end = false;
        } else if (!range_end(text, end, &r.end, why, why_size)) {
            goto done;
        }
    }
    if (r.has_start && r.has_end && r.start > r.end) {
        char a[WM_RENDER_MAX], b[WM_RENDER_MAX];
        wm_format_number(r.start, a, sizeof a);
        wm_format_number(r.end, b, sizeof b);
        range_error(text, why, why_size, "start %s is greater than end %s", a, b);
        goto done;
    }
    *out = r;
    ok = true;
done:
    free(s);
    return ok;
}

bool wm_range_alerts(const wm_range *range, double value) {
    bool below = range->has_start && value < range->start;
    bool above = range->has_end && value > range->end;
    bool outside = below || above;
    return range->inside ? !outside : outside;
}

size_t wm_range_format(const wm_range *range, char *buf, size_t size) {
    char a[WM_RENDER_MAX], b[WM_RENDER_MAX];
    size_t pos = 0;
    append(buf, size, &pos, "%s", range->inside ? "@" : "");
    if (range->has_start) {
        wm_format_number(range->start, a, sizeof a);
    }
    if (range->has_end) {
        wm_format_number(range->end, b, sizeof b);
    }
    if (range->has_start && range->has_end && range->start == 0.0) {
        append(buf, size, &pos, "%s", b);
    } else if (range->has_start && range->has_end) {
        append(buf, size, &pos, "%s:%s", a, b);
    } else if (range->has_start) {
        append(buf, size, &pos, "%s:", a);
    } else if (range->has_end) {
        append(buf, size, &pos, "~:%s", b);
    } else {
        append(buf, size, &pos, "~:");
    }
    return pos;
}

wm_range wm_range_upper(double x) {
    wm_range r = {.has_start = x >= 0.0, .start = 0.0, .has_end = true, .end = x, .inside = false};
    return r;
}

wm_range wm_range_lower(double x) {
    wm_range r = {.has_start = true, .start = x, .has_end = false, .end = 0.0, .inside = false};
    return r;
}

wm_state wm_thresholds_evaluate(const wm_thresholds *t, double value) {
    if (t->has_crit && wm_range_alerts(&t->crit, value)) {
        return WM_CRITICAL;
    }
    if (t->has_warn && wm_range_alerts(&t->warn, value)) {
        return WM_WARNING;
    }
    return WM_OK;
}

/* ------------------------------------------------------------------ */
/* Levels                                                              */
/* ------------------------------------------------------------------ */

wm_levels wm_levels_none(void) {
    wm_levels l = {0};
    return l;
}

wm_levels wm_levels_upper(double warn, double crit) {
    wm_levels l = {0};
    l.has_upper = true;
    l.upper_warn = warn;
    l.upper_crit = crit;
    return l;
}

wm_levels wm_levels_lower(double warn, double crit) {
    wm_levels l = {0};
    l.has_lower = true;
    l.lower_warn = warn;
    l.lower_crit = crit;
    return l;
}

/* The state and which side raised it: 1 upper, -1 lower, 0 none. */
static wm_state levels_side(const wm_levels *l, double value, int *side) {
    *side = 0;
    if (l->has_upper) {
        *side = 1;
        if (value >= l->upper_crit) {
            return WM_CRITICAL;
        }
        if (value >= l->upper_warn) {
            return WM_WARNING;
        }
    }
    if (l->has_lower) {
        *side = -1;
        if (value < l->lower_crit) {
            return WM_CRITICAL;
        }
        if (value < l->lower_warn) {
            return WM_WARNING;
        }
    }
    *side = 0;
    return WM_OK;
}

wm_state wm_levels_evaluate(const wm_levels *levels, double value) {
    int side;
    return levels_side(levels, value, &side);
}

wm_state wm_check_levels(double value, const wm_levels *levels, const char *label,
                         wm_render_fn render, char *summary, size_t size) {
    int side;
    wm_state state = levels_side(levels, value, &side);
    char v[WM_RENDER_MAX], w[WM_RENDER_MAX], c[WM_RENDER_MAX];
    render(value, v, sizeof v);
    size_t pos = 0;
    append(summary, size, &pos, "%s: %s", label, v);
    if (side != 0) {
        render(side > 0 ? levels->upper_warn : levels->lower_warn, w, sizeof w);
        render(side > 0 ? levels->upper_crit : levels->lower_crit, c, sizeof c);
        append(summary, size, &pos, " (warn/crit %s %s/%s)", side > 0 ? "at" : "below", w, c);
    }
    return state;
}

/* ------------------------------------------------------------------ */
/* Metrics                                                             */
/* ------------------------------------------------------------------ */

bool wm_metric_label_valid(const char *label) {
    if (!label || !(islower((unsigned char)label[0]) || label[0] == '_')) {
        return false;
    }
    for (const char *c = label; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
            return false;
        }
    }
    return true;
}

bool wm_metric_uom_valid(const char *uom) {
    static const char *const units[] = {"", "s", "%", "B", "c"};
    for (size_t i = 0; uom && i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(uom, units[i]) == 0) {
            return true;
        }
    }
    return false;
}

wm_metric wm_metric_new(const char *label, double value, const char *uom) {
    wm_metric m = {0};
    m.label = label;
    m.value = value;
    m.uom = uom;
    return m;
}

static wm_metric with_min(wm_metric m, double min) {
    m.has_min = true;
    m.min = min;
    return m;
}

wm_metric wm_metric_seconds(const char *label, double seconds) {
    return with_min(wm_metric_new(label, seconds, "s"), 0.0);
}

wm_metric wm_metric_bytes(const char *label, double bytes) {
    return with_min(wm_metric_new(label, bytes, "B"), 0.0);
}

wm_metric wm_metric_percent(const char *label, double percent) {
    wm_metric m = with_min(wm_metric_new(label, percent, "%"), 0.0);
    m.has_max = true;
    m.max = 100.0;
    return m;
}

wm_metric wm_metric_per_second(const char *label, double rate) {
    return with_min(wm_metric_new(label, rate, ""), 0.0);
}

wm_metric wm_metric_count(const char *label, double count) {
    return with_min(wm_metric_new(label, count, ""), 0.0);
}

wm_metric wm_metric_number(const char *label, double value) {
    return wm_metric_new(label, value, "");
}

wm_metric wm_metric_counter(const char *label, double value) {
    return with_min(wm_metric_new(label, value, "c"), 0.0);
}

wm_metric wm_metric_with_levels(wm_metric m, const wm_levels *levels) {
    m.has_warn = m.has_crit = false;
    if (levels->has_upper) {
        m.has_warn = m.has_crit = true;
        m.warn = wm_range_upper(levels->upper_warn);
        m.crit = wm_range_upper(levels->upper_crit);
    } else if (levels->has_lower) {
        m.has_warn = m.has_crit = true;
        m.warn = wm_range_lower(levels->lower_warn);
        m.crit = wm_range_lower(levels->lower_crit);
    }
    return m;
}

wm_metric wm_metric_with_thresholds(wm_metric m, const wm_thresholds *t) {
    m.has_warn = t->has_warn;
    m.warn = t->warn;
    m.has_crit = t->has_crit;
    m.crit = t->crit;
    return m;
}

size_t wm_metric_format(const wm_metric *m, char *buf, size_t size) {
    char fields[5][WM_RENDER_MAX * 2];
    size_t pos = 0;
    /* The label is quoted only where it needs to be, as the host does. */
    if (strpbrk(m->label, " \t\r\n='|;")) {
        append(buf, size, &pos, "'");
        for (const char *c = m->label; *c; c++) {
            append(buf, size, &pos, *c == '\'' ? "''" : "%c", *c);
        }
        append(buf, size, &pos, "'=");
    } else {
        append(buf, size, &pos, "%s=", m->label);
    }
    if (isfinite(m->value)) {
        format_perf_number(m->value, fields[0], sizeof fields[0]);
        strncat(fields[0], m->uom ? m->uom : "", sizeof fields[0] - strlen(fields[0]) - 1);
    } else {
        strcpy(fields[0], "U");
    }
    fields[1][0] = fields[2][0] = fields[3][0] = fields[4][0] = '\0';
    if (m->has_warn) {
        wm_range_format(&m->warn, fields[1], sizeof fields[1]);
    }
    if (m->has_crit) {
        wm_range_format(&m->crit, fields[2], sizeof fields[2]);
    }
    if (m->has_min) {
        format_perf_number(m->min, fields[3], sizeof fields[3]);
    }
    if (m->has_max) {
        format_perf_number(m->max, fields[4], sizeof fields[4]);
    }
    int last = 4;
    while (last > 0 && fields[last][0] == '\0') {
        last--;
    }
    for (int i = 0; i <= last; i++) {
        append(buf, size, &pos, "%s%s", i ? ";" : "", fields[i]);
    }
    return pos;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

void wm_output_init(wm_output *out) {
    memset(out, 0, sizeof *out);
}

void wm_output_free(wm_output *out) {
    for (size_t i = 0; i < out->n_partials; i++) {
        free(out->partials[i].summary);
        free(out->partials[i].details);
    }
    for (size_t i = 0; i < out->n_metrics; i++) {
        free((char *)out->metrics[i].label);
        free((char *)out->metrics[i].uom);
    }
    free(out->partials);
    free(out->metrics);
    wm_output_init(out);
}

/* Appends a partial; the summary is one line (line breaks become blanks). */
static void push_partial(wm_output *out, wm_state state, char *summary) {
    for (char *c = summary; *c; c++) {
        if (*c == '\n' || *c == '\r') {
            *c = ' ';
        }
    }
    if (out->n_partials == out->cap_partials) {
        out->cap_partials = out->cap_partials ? out->cap_partials * 2 : 8;
        out->partials = xrealloc(out->partials, out->cap_partials * sizeof *out->partials);
    }
    wm_partial *p = &out->partials[out->n_partials++];
    p->state = state;
    p->summary = summary;
    p->details = NULL;
}

void wm_output_add(wm_output *out, wm_state state, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    push_partial(out, state, vformat(fmt, ap));
    va_end(ap);
}

#define OUTPUT_WITH_STATE(fn, state)                                                             \
    void fn(wm_output *out, const char *fmt, ...) {                                              \
        va_list ap;                                                                              \
        va_start(ap, fmt);                                                                       \
        push_partial(out, state, vformat(fmt, ap));                                              \
        va_end(ap);                                                                              \
    }
OUTPUT_WITH_STATE(wm_output_ok, WM_OK)
OUTPUT_WITH_STATE(wm_output_warn, WM_WARNING)
OUTPUT_WITH_STATE(wm_output_crit, WM_CRITICAL)
OUTPUT_WITH_STATE(wm_output_unknown, WM_UNKNOWN)

void wm_output_details(wm_output *out, const char *fmt, ...) {
    if (out->n_partials == 0) {
        snprintf(out->misuse, sizeof out->misuse, "wm_output_details before any partial result");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *line = vformat(fmt, ap);
    va_end(ap);
    wm_partial *p = &out->partials[out->n_partials - 1];
    if (!p->details) {
        p->details = line;
        return;
    }
    size_t old = strlen(p->details), add = strlen(line);
    p->details = xrealloc(p->details, old + 1 + add + 1);
    p->details[old] = '\n';
    memcpy(p->details + old + 1, line, add + 1);
    free(line);
}

wm_state wm_output_levels(wm_output *out, double value, const wm_levels *levels,
                          const char *label, wm_render_fn render) {
    char summary[WM_MESSAGE_MAX];
    wm_state state = wm_check_levels(value, levels, label, render, summary, sizeof summary);
    push_partial(out, state, xstrdup(summary));
    return state;
}

void wm_output_metric(wm_output *out, wm_metric metric) {
    if (!wm_metric_label_valid(metric.label)) {
        if (!out->misuse[0]) {
            snprintf(out->misuse, sizeof out->misuse,
                     "metric label '%s': use lower case letters, digits and underscores, not "
                     "starting with a digit",
                     metric.label ? metric.label : "(null)");
        }
        return;
    }
    if (!wm_metric_uom_valid(metric.uom)) {
        if (!out->misuse[0]) {
            snprintf(out->misuse, sizeof out->misuse,
                     "metric '%s': unit '%s' is not one of \"\", s, %%, B, c", metric.label,
                     metric.uom ? metric.uom : "(null)");
        }
        return;
    }
    if (out->n_metrics == out->cap_metrics) {
        out->cap_metrics = out->cap_metrics ? out->cap_metrics * 2 : 8;
        out->metrics = xrealloc(out->metrics, out->cap_metrics * sizeof *out->metrics);
    }
    metric.label = xstrdup(metric.label);
    metric.uom = xstrdup(metric.uom);
    out->metrics[out->n_metrics++] = metric;
}

wm_state wm_output_response_time(wm_output *out, double seconds, const wm_levels *levels,
                                 double timeout_seconds) {
    wm_state state = wm_output_levels(out, seconds, levels, "Response time", wm_render_seconds);
    wm_metric m = wm_metric_with_levels(wm_metric_seconds("response_time", seconds), levels);
    m.has_max = true;
    m.max = timeout_seconds;
    wm_output_metric(out, m);
    return state;
}

wm_state wm_output_state(const wm_output *out) {
    wm_state state = WM_OK;
    for (size_t i = 0; i < out->n_partials; i++) {
        state = wm_state_worst(state, out->partials[i].state);
    }
    return state;
}

size_t wm_output_summary(const wm_output *out, char *buf, size_t size) {
    size_t pos = 0;
    if (size) {
        buf[0] = '\0';
    }
    for (size_t i = 0; i < out->n_partials; i++) {
        append(buf, size, &pos, "%s%s", i ? ", " : "", out->partials[i].summary);
    }
    return pos;
}

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

const char *wm_param_get(const wm_params *p, const char *name) {
    for (size_t i = p->len; i > 0; i--) {
        if (strcmp(p->items[i - 1].name, name) == 0) {
            return p->items[i - 1].value;
        }
    }
    return NULL;
}

bool wm_params_reject_unknown(const wm_params *p, const char *const *known, wm_error *err) {
    for (size_t i = 0; i < p->len; i++) {
        bool found = false;
        for (const char *const *k = known; k && *k; k++) {
            if (strcmp(*k, p->items[i].name) == 0) {
                found = true;
                break;
            }
        }
        if (found) {
            continue;
        }
        char list[WM_MESSAGE_MAX / 2];
        size_t pos = 0;
        list[0] = '\0';
        for (const char *const *k = known; k && *k; k++) {
            append(list, sizeof list, &pos, "%s%s", pos ? ", " : "", *k);
        }
        return wm_bad_params(err, "unknown parameter '%s' (this check understands: %s)",
                             p->items[i].name, pos ? list : "none");
    }
    return true;
}

bool wm_param_required(const wm_params *p, const char *name, const char **out, wm_error *err) {
    const char *v = wm_param_get(p, name);
    if (!v) {
        return wm_bad_params(err, "parameter '%s' is required", name);
    }
    *out = v;
    return true;
}

/* A whole decimal integer filling `text`, within long long. */
static bool parse_integer(const char *text, long long *out) {
    const char *digits = text;
    if (*digits == '+' || *digits == '-') {
        digits++;
    }
    if (!*digits || strspn(digits, "0123456789") != strlen(digits)) {
        return false;
    }
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*end || errno == ERANGE) {
        return false;
    }
    *out = v;
    return true;
}

bool wm_param_int(const wm_params *p, const char *name, long long def, long long min,
                  long long max, long long *out, wm_error *err) {
    const char *raw = wm_param_get(p, name);
    if (!raw) {
        *out = def;
        return true;
    }
    char *t = trimmed_copy(raw);
    long long v;
    bool ok = parse_integer(t, &v) && v >= min && v <= max;
    free(t);
    if (!ok) {
        char expected[128];
        snprintf(expected, sizeof expected, "an integer from %lld to %lld", min, max);
        return wm_bad_param(err, name, expected, raw);
    }
    *out = v;
    return true;
}

bool wm_param_optional_number(const wm_params *p, const char *name, bool *given, double *out,
                              wm_error *err) {
    const char *raw = wm_param_get(p, name);
    *given = raw != NULL;
    if (!raw) {
        return true;
    }
    char *t = trimmed_copy(raw);
    bool ok = wm_parse_number(t, out);
    free(t);
    return ok ? true : wm_bad_param(err, name, "a number", raw);
}

bool wm_param_number(const wm_params *p, const char *name, double def, double *out, wm_error *err) {
    bool given;
    if (!wm_param_optional_number(p, name, &given, out, err)) {
        return false;
    }
    if (!given) {
        *out = def;
    }
    return true;
}

bool wm_param_number_in(const wm_params *p, const char *name, double def, double min, double max,
                        double *out, wm_error *err) {
    const char *raw = wm_param_get(p, name);
    if (!raw) {
        *out = def;
        return true;
    }
    char *t = trimmed_copy(raw);
    double v;
    bool ok = wm_parse_number(t, &v) && v >= min && v <= max;
    free(t);
    if (!ok) {
        char a[WM_RENDER_MAX], b[WM_RENDER_MAX], expected[200];
        wm_format_number(min, a, sizeof a);
        wm_format_number(max, b, sizeof b);
        snprintf(expected, sizeof expected, "a number from %s to %s", a, b);
        return wm_bad_param(err, name, expected, raw);
    }
    *out = v;
    return true;
}

bool wm_param_bool(const wm_params *p, const char *name, bool def, bool *out, wm_error *err) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    const char *raw = wm_param_get(p, name);
    if (!raw) {
        *out = def;
        return true;
    }
    char *t = trimmed_copy(raw);
    bool found = false;
    for (size_t i = 0; i < 4 && !found; i++) {
        if (equals_ignore_case(t, yes[i])) {
            *out = true;
            found = true;
        } else if (equals_ignore_case(t, no[i])) {
            *out = false;
            found = true;
        }
    }
    free(t);
    return found ? true
                 : wm_bad_param(err, name, "true or false (also yes/no, on/off, 1/0)", raw);
}

bool wm_param_state(const wm_params *p, const char *name, wm_state def, wm_state *out,
                    wm_error *err) {
    const char *raw = wm_param_get(p, name);
    if (!raw) {
        *out = def;
        return true;
    }
    if (wm_state_parse(raw, out)) {
        return true;
    }
    return wm_bad_param(err, name, "a state (OK, WARNING, CRITICAL, UNKNOWN, WARN, CRIT or 0-3)",
                        raw);
}

bool wm_param_duration(const wm_params *p, const char *name, double def, double *out,
                       wm_error *err) {
    const char *raw = wm_param_get(p, name);
    if (!raw) {
        *out = def;
        return true;
    }
    if (wm_parse_duration(raw, out)) {
        return true;
    }
    return wm_bad_param(err, name, "a duration such as 10s, 500ms, 2m or 1.5 (seconds)", raw);
}

bool wm_param_bytes(const wm_params *p, const char *name, bool *given, double *out, wm_error *err) {
    const char *raw = wm_param_get(p, name);
    *given = raw != NULL;
    if (!raw || wm_parse_bytes(raw, out)) {
        return true;
    }
    return wm_bad_param(err, name,
                        "a size such as 500MiB or 10GiB (units B, KiB, MiB, GiB, TiB)", raw);
}

bool wm_param_range(const wm_params *p, const char *name, bool *given, wm_range *out,
                    wm_error *err) {
    const char *raw = wm_param_get(p, name);
    *given = raw != NULL;
    if (!raw) {
        return true;
    }
    char why[WM_MESSAGE_MAX / 2];
    if (wm_range_parse(raw, out, why, sizeof why)) {
        return true;
    }
    return wm_invalid_param(err, name, "%s", why);
}

bool wm_param_thresholds(const wm_params *p, const char *warn_name, const char *crit_name,
                         wm_thresholds *out, wm_error *err) {
    wm_thresholds t = {0};
    if (!wm_param_range(p, warn_name, &t.has_warn, &t.warn, err) ||
        !wm_param_range(p, crit_name, &t.has_crit, &t.crit, err)) {
        return false;
    }
    *out = t;
    return true;
}

/* The (warn, crit) pair of two number parameters; see wm_param_levels_upper. */
static bool level_pair(const wm_params *p, const char *warn_name, const char *crit_name,
                       const double *def, bool *have, double pair[2], wm_error *err) {
    bool has_warn, has_crit;
    double warn = 0, crit = 0;
    if (!wm_param_optional_number(p, warn_name, &has_warn, &warn, err) ||
        !wm_param_optional_number(p, crit_name, &has_crit, &crit, err)) {
        return false;
    }
    *have = true;
    if (has_warn && has_crit) {
        pair[0] = warn;
        pair[1] = crit;
    } else if (has_warn && def) {
        pair[0] = warn;
        pair[1] = def[1];
    } else if (has_crit && def) {
        pair[0] = def[0];
        pair[1] = crit;
    } else if (!has_warn && !has_crit) {
        *have = def != NULL;
        if (def) {
            pair[0] = def[0];
            pair[1] = def[1];
        }
    } else {
        return wm_bad_params(err, "parameter '%s' is given without '%s': give both or neither",
                             has_warn ? warn_name : crit_name, has_warn ? crit_name : warn_name);
    }
    return true;
}

bool wm_param_levels_upper(const wm_params *p, const char *warn_name, const char *crit_name,
                           const double *def, wm_levels *out, wm_error *err) {
    bool have;
    double pair[2];
    if (!level_pair(p, warn_name, crit_name, def, &have, pair, err)) {
        return false;
    }
    *out = have ? wm_levels_upper(pair[0], pair[1]) : wm_levels_none();
    return true;
}

bool wm_param_levels_lower(const wm_params *p, const char *warn_name, const char *crit_name,
                           const double *def, wm_levels *out, wm_error *err) {
    bool have;
    double pair[2];
    if (!level_pair(p, warn_name, crit_name, def, &have, pair, err)) {
        return false;
    }
    *out = have ? wm_levels_lower(pair[0], pair[1]) : wm_levels_none();
    return true;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

bool wm_request_io_timeout(const wm_request *r, double def, double *seconds, wm_error *err) {
    double wanted;
    if (!wm_param_duration(&r->params, "timeout", def, &wanted, err)) {
        return false;
    }
    if (wanted <= 0.0) {
        const char *raw = wm_param_get(&r->params, "timeout");
        return wm_bad_param(err, "timeout", "a duration of more than 0 seconds", raw ? raw : "0");
    }
    if (r->timeout_ms == 0) {
        *seconds = wanted;
        return true;
    }
    double budget = (double)((uint64_t)r->timeout_ms * 9 / 10) / 1000.0;
    if (budget < 0.001) {
        budget = 0.001;
    }
    *seconds = wanted < budget ? wanted : budget;
    return true;
}

bool wm_request_item(const wm_request *r, const char **item, wm_error *err) {
    if (!r->item) {
        return wm_bad_params(err, "this check needs an item, but none was given");
    }
    *item = r->item;
    return true;
}

/* ------------------------------------------------------------------ */
/* Items                                                               */
/* ------------------------------------------------------------------ */

void wm_items_init(wm_items *items) {
    memset(items, 0, sizeof *items);
}

void wm_items_free(wm_items *items) {
    for (size_t i = 0; i < items->len; i++) {
        wm_item *it = &items->items[i];
        for (size_t j = 0; j < it->n_params; j++) {
            free((char *)it->params[j].name);
            free((char *)it->params[j].value);
        }
        free(it->params);
        free(it->name);
    }
    free(items->items);
    wm_items_init(items);
}

void wm_items_add(wm_items *items, const char *name) {
    if (items->len == items->cap) {
        items->cap = items->cap ? items->cap * 2 : 8;
        items->items = xrealloc(items->items, items->cap * sizeof *items->items);
    }
    wm_item *it = &items->items[items->len++];
    memset(it, 0, sizeof *it);
    it->name = xstrdup(name);
}

void wm_items_add_param(wm_items *items, const char *name, const char *value) {
    if (items->len == 0) {
        return;
    }
    wm_item *it = &items->items[items->len - 1];
    if (it->n_params == it->cap_params) {
        it->cap_params = it->cap_params ? it->cap_params * 2 : 4;
        it->params = xrealloc(it->params, it->cap_params * sizeof *it->params);
    }
    it->params[it->n_params].name = xstrdup(name);
    it->params[it->n_params].value = xstrdup(value);
    it->n_params++;
}

/* ------------------------------------------------------------------ */
/* Rates, averages and addresses                                       */
/* ------------------------------------------------------------------ */

bool wm_compute_rate(bool have_previous, double last_time, double last_counter, double counter,
                     double now, double *rate) {
    return wm_compute_rate_with(have_previous, last_time, last_counter, counter, now, WM_OVERFLOW_RAISE,
                                rate);
}

bool wm_compute_rate_with(bool have_previous, double last_time, double last_value, double value,
                          double now, wm_overflow overflow, double *rate) {
    if (!have_previous || now <= last_time) {
        return false;
    }
    double r = (value - last_value) / (now - last_time);
    if (r < 0 && overflow == WM_OVERFLOW_RAISE) {
        return false;
    }
    *rate = r;
    return true;
}

/* Checkmk's get_average: see the header for the formula and its source. */
wm_average_state wm_compute_average(const wm_average_state *previous, double value, double now,
                                    double backlog_minutes) {
    if (!previous) {
        return (wm_average_state){now, now, value};
    }
    double time_diff = now - previous->last_time;
    if (time_diff <= 0) {
        return *previous;
    }
    double since_start = now - previous->start_time;
    double horizon = backlog_minutes * 60.0;
    double backlog_count = horizon < since_start ? horizon / time_diff : since_start / time_diff;
    double weight = pow(1.0 - 0.5, 1.0 / backlog_count);
    return (wm_average_state){previous->start_time, now, (1.0 - weight) * value + weight * previous->average};
}

bool wm_parse_ip(const char *text, wm_ip *out) {
    char *t = trimmed_copy(text);
    char *s = t;
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s[n - 1] = '\0';
        s++;
    }
    wm_ip ip;
    memset(&ip, 0, sizeof ip);
    bool ok;
    if (strchr(s, ':')) {
        ip.v6 = true;
        ok = inet_pton(AF_INET6, s, ip.bytes) == 1;
    } else {
        ok = inet_pton(AF_INET, s, ip.bytes) == 1;
    }
    free(t);
    if (ok) {
        *out = ip;
    }
    return ok;
}

size_t wm_format_endpoint(const wm_ip *ip, uint16_t port, char *buf, size_t size) {
    char text[64];
    size_t pos = 0;
    if (!inet_ntop(ip->v6 ? AF_INET6 : AF_INET, ip->bytes, text, sizeof text)) {
        strcpy(text, "?");
    }
    if (ip->v6) {
        append(buf, size, &pos, "[%s]:%u", text, (unsigned)port);
    } else {
        append(buf, size, &pos, "%s:%u", text, (unsigned)port);
    }
    return pos;
}
