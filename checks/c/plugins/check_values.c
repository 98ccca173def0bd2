/*
 * check_values - a classic Nagios/Monitoring Plugins style plugin: judges
 * numbers given on the command line against threshold ranges.
 *
 * It is written against the plugin interface, not against wasmon: getopt
 * for the options, one line "VALUES STATE - text | perfdata" on stdout,
 * long output lines after it, exit code 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN. It reads no file and opens no socket, so it runs in wasmon's
 * sandbox without any grant, as a WASI preview1 command:
 *
 *     wasmon check check_values.wasm -- -w 80 -c 90 cpu=85 mem=40
 *
 * The ranges and the perfdata come from the portable part of the wasmon C
 * SDK (wasmon_check.c), so they parse and print exactly as wasmon's checks.
 */
#include "wasmon_check.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM "check_values"
#define VERSION "0.1.0"

/* The usage line, without '|': in plugin output a '|' starts performance data. */
#define USAGE \
    "Usage: " PROGRAM " [-w RANGE] [-c RANGE] [-u UOM] [--min N] [--max N] LABEL=VALUE[;WARN[;CRIT]]...\n"

static void usage(FILE *to) {
    fprintf(to, USAGE "Try '" PROGRAM " --help' for more information.\n");
}

static void help(void) {
    printf(PROGRAM " v" VERSION " (wasmon C SDK)\n"
           "Checks numbers given as arguments against warning and critical ranges.\n\n");
    printf(USAGE "\n"
           "Options:\n"
           " -w, --warning=RANGE   warning range for every value\n"
           " -c, --critical=RANGE  critical range for every value\n"
           " -u, --uom=UOM         unit of the values in the perfdata: \"\", s, %%, B or c\n"
           "     --min=N           smallest possible value, for the perfdata\n"
           "     --max=N           largest possible value, for the perfdata\n"
           " -h, --help            print this help\n"
           " -V, --version         print the version\n"
           "\n"
           "Each value is LABEL=VALUE; LABEL=VALUE;WARN;CRIT gives that value its own\n"
           "ranges (an empty one keeps -w or -c). A RANGE is N (0 to N), N: (N or more),\n"
           "~:N (N or less), N:M, or @N:M to alert inside instead of outside; ends are\n"
           "inclusive. The state is the worst of all values.\n");
}

/* Prints UNKNOWN with a message and the usage, and returns exit code 3. */
static int unknown(const char *fmt, const char *arg) {
    printf("VALUES UNKNOWN - ");
    printf(fmt, arg);
    printf("\n");
    usage(stdout);
    return 3;
}

/* One value from the command line. */
typedef struct value {
    char *label;
    double number;
    wm_thresholds t;
    wm_state state;
} value;

/* Parses a range option into `out`; prints the error otherwise. */
static bool range_option(const char *text, const char *option, wm_range *out, int *exit_code) {
    char why[256];
    if (wm_range_parse(text, out, why, sizeof why)) {
        return true;
    }
    printf("VALUES UNKNOWN - %s: %s\n", option, why);
    usage(stdout);
    *exit_code = 3;
    return false;
}

/* Parses LABEL=VALUE[;WARN[;CRIT]] with the defaults in `t`. */
static bool parse_value(char *arg, const wm_thresholds *t, value *v, int *exit_code) {
    char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) {
        *exit_code = unknown("'%s' is not LABEL=VALUE", arg);
        return false;
    }
    *eq = '\0';
    v->label = arg;
    v->t = *t;
    char *number = eq + 1;
    char *warn = strchr(number, ';');
    char *crit = NULL;
    if (warn) {
        *warn++ = '\0';
        crit = strchr(warn, ';');
        if (crit) {
            *crit++ = '\0';
        }
    }
    if (!wm_parse_number(number, &v->number)) {
        *eq = '=';
        *exit_code = unknown("the value of '%s' is not a number", arg);
        return false;
    }
    if (warn && *warn) {
        if (!range_option(warn, v->label, &v->t.warn, exit_code)) {
            return false;
        }
        v->t.has_warn = true;
    }
    if (crit && *crit) {
        if (!range_option(crit, v->label, &v->t.crit, exit_code)) {
            return false;
        }
        v->t.has_crit = true;
    }
    return true;
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"warning", required_argument, NULL, 'w'},
        {"critical", required_argument, NULL, 'c'},
        {"uom", required_argument, NULL, 'u'},
        {"min", required_argument, NULL, 'm'},
        {"max", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    wm_thresholds defaults = {0};
    const char *uom = "";
    bool has_min = false, has_max = false;
    double min = 0, max = 0;
    int exit_code = 3;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "w:c:u:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'w':
            if (!range_option(optarg, "-w", &defaults.warn, &exit_code)) {
                return exit_code;
            }
            defaults.has_warn = true;
            break;
        case 'c':
            if (!range_option(optarg, "-c", &defaults.crit, &exit_code)) {
                return exit_code;
            }
            defaults.has_crit = true;
            break;
        case 'u':
            if (!wm_metric_uom_valid(optarg)) {
                return unknown("-u '%s': expected one of \"\", s, %%, B, c", optarg);
            }
            uom = optarg;
            break;
        case 'm':
            if (!wm_parse_number(optarg, &min)) {
                return unknown("--min '%s' is not a number", optarg);
            }
            has_min = true;
            break;
        case 'M':
            if (!wm_parse_number(optarg, &max)) {
                return unknown("--max '%s' is not a number", optarg);
            }
            has_max = true;
            break;
        case 'h':
            help();
            return 3;
        case 'V':
            printf(PROGRAM " v" VERSION " (wasmon C SDK)\n");
            return 3;
        default:
            return unknown("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    int n = argc - optind;
    if (n <= 0) {
        return unknown("%s", "no values given");
    }
    value *values = calloc((size_t)n, sizeof *values);
    wm_state worst = WM_OK;
    int alerting = 0;
    for (int i = 0; i < n; i++) {
        if (!parse_value(argv[optind + i], &defaults, &values[i], &exit_code)) {
            return exit_code;
        }
        values[i].state = wm_thresholds_evaluate(&values[i].t, values[i].number);
        worst = wm_state_worst(worst, values[i].state);
        alerting += values[i].state != WM_OK;
    }

    /* First line: state, text, perfdata. */
    printf("VALUES %s - ", wm_state_name(worst));
    if (alerting == 0) {
        printf(n == 1 ? "%d value is within its thresholds" : "All %d values are within their thresholds", n);
    } else {
        printf("%d of %d values alert: ", alerting, n);
        bool first = true;
        for (int i = 0; i < n; i++) {
            if (values[i].state == WM_OK) {
                continue;
            }
            char number[WM_RENDER_MAX];
            wm_format_number(values[i].number, number, sizeof number);
            printf("%s%s=%s%s (%s)", first ? "" : ", ", values[i].label, number, uom,
                   wm_state_name(values[i].state));
            first = false;
        }
    }
    printf(" |");
    for (int i = 0; i < n; i++) {
        wm_metric m = wm_metric_with_thresholds(wm_metric_new(values[i].label, values[i].number, uom),
                                                &values[i].t);
        m.has_min = has_min;
        m.min = min;
        m.has_max = has_max;
        m.max = max;
        char perf[512];
        wm_metric_format(&m, perf, sizeof perf);
        printf(" %s", perf);
    }
    printf("\n");

    /* Long output: every value with its state and the range that decided it. */
    for (int i = 0; i < n; i++) {
        const value *v = &values[i];
        char number[WM_RENDER_MAX], range[WM_RENDER_MAX * 2];
        wm_format_number(v->number, number, sizeof number);
        printf("%s: %s%s %s", v->label, number, uom, wm_state_name(v->state));
        if (v->state == WM_CRITICAL) {
            wm_range_format(&v->t.crit, range, sizeof range);
            printf(" (outside the critical range %s)", range);
        } else if (v->state == WM_WARNING) {
            wm_range_format(&v->t.warn, range, sizeof range);
            printf(" (outside the warning range %s)", range);
        }
        printf("\n");
    }
    free(values);
    return (int)worst;
}
