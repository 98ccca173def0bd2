/*
 * The `redis` check, in C: connects to a Redis server on the target host,
 * authenticates if asked, sends PING and expects +PONG, measures the
 * response time, and reads INFO for the number of connected clients and the
 * memory in use, each with optional upper levels.
 *
 * It speaks RESP (the Redis serialization protocol) over the SDK's blocking
 * TCP client; every wait ends at the check's own timeout.
 */
#include "wasmon_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis' registered port. */
#define DEFAULT_PORT 6379
/* check_tcp's default for -t, as for the other network checks. */
#define DEFAULT_TIMEOUT 10.0
/* The largest INFO reply read: a real one is a few KiB. */
#define MAX_INFO_BYTES (1024 * 1024)
/* How much of an unexpected reply is shown. */
#define SHOWN_BYTES 80

static const char *const KNOWN[] = {
    "port",           "password",        "info",          "warning",        "critical",
    "clients_warning", "clients_critical", "memory_warning", "memory_critical", "timeout",
    NULL,
};

static const char NO_DEFAULT_LEVELS[] =
    "no default: what is normal depends on the server and its applications";

static const wm_param_info PARAMS[] = {
    {"port", "TCP port of the Redis server, 1-65535.", "6379",
     "the port IANA registers for Redis"},
    {"password",
     "Password to authenticate with (AUTH) before PING. Without it a server that requires "
     "authentication answers PING with NOAUTH, which is CRIT.",
     NULL, NULL},
    {"info",
     "Whether to read INFO after PING for the version, the connected clients and the memory in "
     "use: yes or no. Switch it off for servers where INFO is disabled or renamed.",
     "yes", "wasmon: the clients and memory metrics need INFO"},
    WM_PARAMS_RESPONSE_TIME(NO_DEFAULT_LEVELS),
    {"clients_warning",
     "Number of connected clients (INFO connected_clients) at or above which the check is WARN; "
     "give clients_critical too. Needs info=yes.",
     NULL, NO_DEFAULT_LEVELS},
    {"clients_critical",
     "Number of connected clients at or above which the check is CRIT; give clients_warning too.",
     NULL, NO_DEFAULT_LEVELS},
    {"memory_warning",
     "Memory used by Redis (INFO used_memory) at or above which the check is WARN, as a size "
     "with unit such as 512MiB or 2GiB; give memory_critical too. Needs info=yes.",
     NULL, NO_DEFAULT_LEVELS},
    {"memory_critical",
     "Memory used by Redis at or above which the check is CRIT, as a size with unit; give "
     "memory_warning too.",
     NULL, NO_DEFAULT_LEVELS},
    WM_PARAM_TIMEOUT("to connect and to get all replies", "10s", "check_tcp's default for -t"),
};

void wm_describe(wm_info *info) {
    info->name = "redis";
    info->version = "0.1.0";
    info->title = "Redis: Server availability, clients and memory";
    info->description =
        "Connects to a Redis server on the target host (its address as resolved by wasmon, IPv4 "
        "or IPv6; port 6379 unless 'port' says otherwise), authenticates with AUTH when a "
        "'password' is given, sends PING and expects +PONG. The response time covers connecting "
        "and the PING round trip. Unless info=no, it then sends INFO and reports the server "
        "version, the number of connected clients (metric connected_clients) and the memory "
        "Redis uses (metric used_memory, in bytes; its maximum is maxmemory when set); role, "
        "uptime and maxmemory go into the long output.\n"
        "OK: the server answers PING with PONG and every value is below its levels.\n"
        "WARN: the response time, the clients or the memory are at or above their warning "
        "levels.\n"
        "CRIT: the connection is refused, fails or times out ('Socket timeout after 10 "
        "seconds'); the server answers PING with anything but PONG (an error such as NOAUTH, "
        "or another service's banner); AUTH fails; a value is at or above its critical level.\n"
        "UNKNOWN: INFO fails or lacks a value, or a parameter is malformed.\n"
        "The sandbox lets the check connect only to the target host's address unless the "
        "operator's policy allows more.";
    info->item = NULL;
    info->discovery = NULL;
    info->params = PARAMS;
    info->n_params = sizeof PARAMS / sizeof PARAMS[0];
}

/* Upper levels from two size parameters, both or neither. */
static bool byte_levels(const wm_params *p, const char *warn_name, const char *crit_name,
                        wm_levels *out, wm_error *err) {
    bool has_warn, has_crit;
    double warn, crit;
    if (!wm_param_bytes(p, warn_name, &has_warn, &warn, err) ||
        !wm_param_bytes(p, crit_name, &has_crit, &crit, err)) {
        return false;
    }
    if (has_warn != has_crit) {
        return wm_bad_params(err, "parameter '%s' is given without '%s': give both or neither",
                             has_warn ? warn_name : crit_name, has_warn ? crit_name : warn_name);
    }
    *out = has_warn ? wm_levels_upper(warn, crit) : wm_levels_none();
    return true;
}

/* What the operator asked for. */
typedef struct settings {
    const char *address;
    uint16_t port;
    const char *password;
    bool info;
    wm_levels response, clients, memory;
    double timeout;
} settings;

static bool read_settings(const wm_request *req, settings *s, wm_error *err) {
    const wm_params *p = &req->params;
    long long port;
    if (!wm_params_reject_unknown(p, KNOWN, err) ||
        !wm_param_int(p, "port", DEFAULT_PORT, 1, 65535, &port, err) ||
        !wm_param_bool(p, "info", true, &s->info, err) ||
        !wm_param_levels_upper(p, "warning", "critical", NULL, &s->response, err) ||
        !wm_param_levels_upper(p, "clients_warning", "clients_critical", NULL, &s->clients,
                               err) ||
        !byte_levels(p, "memory_warning", "memory_critical", &s->memory, err) ||
        !wm_request_io_timeout(req, DEFAULT_TIMEOUT, &s->timeout, err)) {
        return false;
    }
    s->port = (uint16_t)port;
    s->password = wm_param_get(p, "password");
    if (s->password && !*s->password) {
        return wm_invalid_param(err, "password", "the password is empty");
    }
    if (!s->info) {
        static const char *const needs_info[] = {"clients_warning", "clients_critical",
                                                 "memory_warning", "memory_critical"};
        for (size_t i = 0; i < sizeof needs_info / sizeof needs_info[0]; i++) {
            if (wm_param_get(p, needs_info[i])) {
                return wm_invalid_param(err, needs_info[i],
                                        "needs info=yes: the value comes from INFO");
            }
        }
    }
    wm_ip ip;
    if (!wm_parse_ip(req->host_address, &ip)) {
        if (!req->host_name[0]) {
            return wm_failed(err, "No target host: the redis check needs the address of the "
                                  "host to connect to");
        }
        return wm_failed(err, "The target '%s' has no IP address to connect to (got '%s')",
                         req->host_name, req->host_address);
    }
    s->address = req->host_address;
    return true;
}

/* `text` made printable and short enough for a summary. */
static void shown(const char *text, char *buf, size_t size) {
    size_t n = 0;
    for (const char *c = text; *c && n + 4 < size && n < SHOWN_BYTES; c++) {
        buf[n++] = ((unsigned char)*c < 0x20 || *c == 0x7f) ? '?' : *c;
    }
    if (strlen(text) > n) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
}

/* Reports a failed conversation step: a timeout as check_tcp words it,
 * anything else naming the step. */
static void failure(wm_output *out, const wm_tcp *c, wm_net_status status, const char *step,
                    const char *endpoint) {
    if (status == WM_NET_TIMEOUT) {
        wm_output_crit(out, "%s", c->error);
    } else {
        wm_output_crit(out, "%s %s: %s", step, endpoint, c->error);
    }
}

/* Sends a command as a RESP array of bulk strings, in one write: small
 * writes in a row would wait for the server's delayed ACK (Nagle). */
static wm_net_status command(wm_tcp *c, int argc, const char *const argv[]) {
    size_t size = 32;
    for (int i = 0; i < argc; i++) {
        size += strlen(argv[i]) + 32;
    }
    char *text = malloc(size);
    size_t len = (size_t)snprintf(text, size, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        len += (size_t)snprintf(text + len, size - len, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    }
    wm_net_status st = wm_tcp_write(c, text, len);
    free(text);
    return st;
}

/* The value of `key` in an INFO payload ("key:value" lines), or NULL. */
static const char *info_value(char *const *lines, size_t n, const char *key) {
    size_t len = strlen(key);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(lines[i], key, len) == 0 && lines[i][len] == ':') {
            return lines[i] + len + 1;
        }
    }
    return NULL;
}

/* Reports what INFO says; `payload` is modified (split into lines). */
static void report_info(wm_output *out, const settings *s, char *payload) {
    size_t n = 0, cap = 64;
    char **lines = malloc(cap * sizeof *lines);
    for (char *line = strtok(payload, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        if (line[0] == '#') {
            continue;
        }
        if (n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
        }
        lines[n++] = line;
    }
    const char *version = info_value(lines, n, "redis_version");
    if (version) {
        wm_output_ok(out, "Version: %s", version);
    }
    double clients, memory, maxmemory = 0;
    const char *raw_clients = info_value(lines, n, "connected_clients");
    if (raw_clients && wm_parse_number(raw_clients, &clients)) {
        wm_output_levels(out, clients, &s->clients, "Clients", wm_render_integer);
        wm_output_metric(out, wm_metric_with_levels(wm_metric_count("connected_clients", clients),
                                                    &s->clients));
    } else {
        wm_output_unknown(out, "Clients: connected_clients is missing from the INFO reply");
    }
    const char *raw_max = info_value(lines, n, "maxmemory");
    if (raw_max) {
        wm_parse_number(raw_max, &maxmemory);
    }
    const char *raw_memory = info_value(lines, n, "used_memory");
    if (raw_memory && wm_parse_number(raw_memory, &memory)) {
        wm_output_levels(out, memory, &s->memory, "Memory used", wm_render_bytes);
        wm_metric m = wm_metric_with_levels(wm_metric_bytes("used_memory", memory), &s->memory);
        if (maxmemory > 0) {
            m.has_max = true;
            m.max = maxmemory;
        }
        wm_output_metric(out, m);
    } else {
        wm_output_unknown(out, "Memory used: used_memory is missing from the INFO reply");
    }
    const char *role = info_value(lines, n, "role");
    if (role) {
        wm_output_details(out, "Role: %s", role);
    }
    const char *mode = info_value(lines, n, "redis_mode");
    if (mode) {
        wm_output_details(out, "Mode: %s", mode);
    }
    const char *uptime = info_value(lines, n, "uptime_in_seconds");
    double up;
    if (uptime && wm_parse_number(uptime, &up)) {
        char text[WM_RENDER_MAX];
        wm_render_seconds(up, text, sizeof text);
        wm_output_details(out, "Uptime: %s", text);
    }
    if (raw_max) {
        char text[WM_RENDER_MAX];
        wm_render_bytes(maxmemory, text, sizeof text);
        wm_output_details(out, "Maximum memory: %s", maxmemory > 0 ? text : "no limit");
    }
    free(lines);
}

/* INFO: a bulk string "$N\r\n<N bytes>\r\n". */
static void query_info(wm_output *out, const settings *s, wm_tcp *c, const char *endpoint) {
    static const char *const info[] = {"INFO"};
    char line[512], text[128];
    wm_net_status st = command(c, 1, info);
    if (st == WM_NET_OK) {
        st = wm_tcp_read_line(c, line, sizeof line);
    }
    if (st != WM_NET_OK) {
        failure(out, c, st, "INFO from", endpoint);
        return;
    }
    if (line[0] == '-') {
        shown(line + 1, text, sizeof text);
        wm_output_unknown(out, "INFO failed: %s (set info=no to skip it)", text);
        return;
    }
    long long len = -1;
    if (line[0] == '$') {
        char *end;
        len = strtoll(line + 1, &end, 10);
        if (*end) {
            len = -1;
        }
    }
    if (len < 0 || len > MAX_INFO_BYTES) {
        shown(line, text, sizeof text);
        wm_output_unknown(out, "Unexpected reply to INFO: %s", text);
        return;
    }
    char *payload = malloc((size_t)len + 3);
    st = wm_tcp_read_exact(c, payload, (size_t)len + 2);
    if (st != WM_NET_OK) {
        failure(out, c, st, "INFO from", endpoint);
    } else {
        payload[len] = '\0';
        report_info(out, s, payload);
    }
    free(payload);
}

bool wm_check(const wm_request *req, wm_output *out, wm_error *err) {
    settings s;
    if (!read_settings(req, &s, err)) {
        return false;
    }
    wm_ip ip;
    wm_parse_ip(s.address, &ip);
    char endpoint[80], line[512], text[128];
    wm_format_endpoint(&ip, s.port, endpoint, sizeof endpoint);

    wm_tcp c;
    wm_net_status st = wm_tcp_connect(&c, s.address, s.port, s.timeout);
    if (st != WM_NET_OK) {
        failure(out, &c, st, "Connect to", endpoint);
        return true;
    }
    if (s.password) {
        const char *const auth[] = {"AUTH", s.password};
        st = command(&c, 2, auth);
        if (st == WM_NET_OK) {
            st = wm_tcp_read_line(&c, line, sizeof line);
        }
        if (st != WM_NET_OK) {
            failure(out, &c, st, "AUTH to", endpoint);
            wm_tcp_close(&c);
            return true;
        }
        if (strcmp(line, "+OK") != 0) {
            shown(line[0] == '-' ? line + 1 : line, text, sizeof text);
            wm_output_crit(out, "Authentication failed: %s", text);
            wm_tcp_close(&c);
            return true;
        }
    }
    static const char *const ping[] = {"PING"};
    st = command(&c, 1, ping);
    if (st == WM_NET_OK) {
        st = wm_tcp_read_line(&c, line, sizeof line);
    }
    double elapsed = wm_tcp_elapsed(&c);
    if (st != WM_NET_OK) {
        failure(out, &c, st, "PING to", endpoint);
        wm_tcp_close(&c);
        return true;
    }
    if (strcmp(line, "+PONG") != 0) {
        if (line[0] == '-') {
            shown(line + 1, text, sizeof text);
            wm_output_crit(out, "PING failed: %s%s", text,
                           strncmp(line, "-NOAUTH", 7) == 0 && !s.password
                               ? " (set the 'password' parameter)"
                               : "");
        } else {
            shown(line, text, sizeof text);
            wm_output_crit(out, "Unexpected reply to PING: %s", text);
        }
        wm_output_response_time(out, elapsed, &s.response, s.timeout);
        wm_tcp_close(&c);
        return true;
    }
    wm_output_ok(out, "PONG received from %s", endpoint);
    wm_output_response_time(out, elapsed, &s.response, s.timeout);
    if (s.info) {
        query_info(out, &s, &c, endpoint);
    }
    wm_tcp_close(&c);
    return true;
}
