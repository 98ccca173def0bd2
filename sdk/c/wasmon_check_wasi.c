/*
 * wasmon_check_wasi.c - the component glue of the wasmon C SDK.
 *
 * Implements the exports of world `check` (sdk/c/wit/world.wit) on top of
 * the check's wm_describe / wm_check / wm_discover, and the host and WASI
 * services of wasmon_check.h: log, value store, monotonic clock and the
 * blocking TCP client. It includes "check.h", the C bindings that
 * `wasmon-wasm-c bindgen-c` generates from the world (checks/c/build.sh
 * does that), and is compiled for wasm32-wasi only.
 *
 * Ownership follows wit-bindgen's C conventions: arguments of an export
 * belong to the callee (freed here once copied), results are malloc'ed and
 * freed by the generated post-return functions, arguments of an import stay
 * with the caller and results of an import belong to the caller.
 */
#define _POSIX_C_SOURCE 200809L

#include "wasmon_check.h"

#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Strings between the bindings and C                                  */
/* ------------------------------------------------------------------ */

static void *xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) {
        abort();
    }
    return p;
}

/* A NUL-terminated copy of a WIT string. */
static char *c_string(const check_string_t *s) {
    char *c = xmalloc(s->len + 1);
    if (s->len) {
        memcpy(c, s->ptr, s->len);
    }
    c[s->len] = '\0';
    return c;
}

/* A WIT string holding a copy of `s` (NULL is ""); freed by post-return. */
static check_string_t wit_string(const char *s) {
    check_string_t out = {NULL, 0};
    size_t len = s ? strlen(s) : 0;
    if (len) {
        out.ptr = xmalloc(len);
        memcpy(out.ptr, s, len);
        out.len = len;
    }
    return out;
}

/* A WIT string borrowing `s`, for arguments of imports. */
static check_string_t borrowed_string(const char *s) {
    check_string_t out = {(uint8_t *)s, strlen(s)};
    return out;
}

static check_option_string_t wit_option_string(const char *s) {
    check_option_string_t out;
    memset(&out, 0, sizeof out);
    if (s) {
        out.is_some = true;
        out.val = wit_string(s);
    }
    return out;
}

/* The parameters of a request as NUL-terminated copies. */
static wm_params c_params(const wasmon_check_types_list_param_t *list) {
    wm_param *items = xmalloc(list->len * sizeof *items);
    for (size_t i = 0; i < list->len; i++) {
        items[i].name = c_string(&list->ptr[i].name);
        items[i].value = c_string(&list->ptr[i].value);
    }
    wm_params p = {items, list->len};
    return p;
}

static void free_params(wm_params *p) {
    for (size_t i = 0; i < p->len; i++) {
        free((char *)p->items[i].name);
        free((char *)p->items[i].value);
    }
    free((wm_param *)p->items);
}

static void free_request(wm_request *r) {
    free((char *)r->host_name);
    free((char *)r->host_address);
    free((char *)r->item);
    free_params(&r->params);
}

/* Converts an error recorded by the check; a false return without a
 * message is reported as such rather than silently. */
static void wit_error(const wm_error *e, check_check_error_t *err) {
    memset(err, 0, sizeof *err);
    switch (e->kind) {
    case WM_ERROR_ITEM_NOT_FOUND:
        err->tag = WASMON_CHECK_TYPES_CHECK_ERROR_ITEM_NOT_FOUND;
        break;
    case WM_ERROR_BAD_PARAMS:
        err->tag = WASMON_CHECK_TYPES_CHECK_ERROR_BAD_PARAMS;
        err->val.bad_params = wit_string(e->message);
        break;
    case WM_ERROR_FAILED:
        err->tag = WASMON_CHECK_TYPES_CHECK_ERROR_FAILED;
        err->val.failed = wit_string(e->message);
        break;
    case WM_ERROR_NONE:
    default:
        err->tag = WASMON_CHECK_TYPES_CHECK_ERROR_FAILED;
        err->val.failed = wit_string("the check failed without saying why");
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Exports                                                             */
/* ------------------------------------------------------------------ */

void exports_check_describe(check_check_info_t *ret) {
    wm_info info;
    memset(&info, 0, sizeof info);
    wm_describe(&info);
    memset(ret, 0, sizeof *ret);
    ret->name = wit_string(info.name);
    ret->version = wit_string(info.version);
    ret->title = wit_string(info.title);
    ret->manpage.description = wit_string(info.description);
    ret->manpage.item = wit_option_string(info.item);
    ret->manpage.discovery = wit_option_string(info.discovery);
    ret->params.len = info.n_params;
    ret->params.ptr = xmalloc(info.n_params * sizeof *ret->params.ptr);
    for (size_t i = 0; i < info.n_params; i++) {
        const wm_param_info *p = &info.params[i];
        ret->params.ptr[i].name = wit_string(p->name);
        ret->params.ptr[i].description = wit_string(p->description);
        ret->params.ptr[i].default_value = wit_option_string(p->default_value);
        ret->params.ptr[i].default_source = wit_option_string(p->default_source);
    }
}

/* The check's default discovery: no items. */
__attribute__((weak)) bool wm_discover(const wm_request *request, wm_items *items, wm_error *err) {
    (void)request;
    (void)items;
    (void)err;
    return true;
}

bool exports_check_discover(check_discover_request_t *request, check_list_item_t *ret,
                            check_check_error_t *err) {
    wm_request req = {
        .host_name = c_string(&request->target.name),
        .host_address = c_string(&request->target.address),
        .item = NULL,
        .params = c_params(&request->params),
        .timeout_ms = 0,
    };
    check_discover_request_free(request);
    wm_items items;
    wm_items_init(&items);
    wm_error e;
    memset(&e, 0, sizeof e);
    bool ok = wm_discover(&req, &items, &e);
    if (ok) {
        ret->len = items.len;
        ret->ptr = xmalloc(items.len * sizeof *ret->ptr);
        for (size_t i = 0; i < items.len; i++) {
            const wm_item *it = &items.items[i];
            check_item_t *out = &ret->ptr[i];
            out->name = wit_string(it->name);
            out->params.len = it->n_params;
            out->params.ptr = xmalloc(it->n_params * sizeof *out->params.ptr);
            for (size_t j = 0; j < it->n_params; j++) {
                out->params.ptr[j].name = wit_string(it->params[j].name);
                out->params.ptr[j].value = wit_string(it->params[j].value);
            }
        }
    } else {
        wit_error(&e, err);
    }
    wm_items_free(&items);
    free_request(&req);
    return ok;
}

static wasmon_check_types_option_range_t wit_range(bool has, const wm_range *r) {
    wasmon_check_types_option_range_t out;
    memset(&out, 0, sizeof out);
    if (has) {
        out.is_some = true;
        out.val.start.is_some = r->has_start;
        out.val.start.val = r->start;
        out.val.end.is_some = r->has_end;
        out.val.end.val = r->end;
        out.val.inside = r->inside;
    }
    return out;
}

static check_option_f64_t wit_f64(bool has, double v) {
    check_option_f64_t out = {has, has ? v : 0.0};
    return out;
}

bool exports_check_check(check_check_request_t *request, check_check_result_t *ret,
                         check_check_error_t *err) {
    wm_request req = {
        .host_name = c_string(&request->target.name),
        .host_address = c_string(&request->target.address),
        .item = request->item.is_some ? c_string(&request->item.val) : NULL,
        .params = c_params(&request->params),
        .timeout_ms = request->timeout_ms,
    };
    check_check_request_free(request);
    wm_output out;
    wm_output_init(&out);
    wm_error e;
    memset(&e, 0, sizeof e);
    bool ok = wm_check(&req, &out, &e);
    if (ok && out.misuse[0]) {
        ok = wm_failed(&e, "the check misused the SDK: %s", out.misuse);
    }
    if (ok) {
        ret->partials.len = out.n_partials;
        ret->partials.ptr = xmalloc(out.n_partials * sizeof *ret->partials.ptr);
        for (size_t i = 0; i < out.n_partials; i++) {
            const wm_partial *p = &out.partials[i];
            ret->partials.ptr[i].state = (wasmon_check_types_state_t)p->state;
            ret->partials.ptr[i].summary = wit_string(p->summary);
            ret->partials.ptr[i].details = wit_option_string(p->details);
        }
        ret->metrics.len = out.n_metrics;
        ret->metrics.ptr = xmalloc(out.n_metrics * sizeof *ret->metrics.ptr);
        for (size_t i = 0; i < out.n_metrics; i++) {
            const wm_metric *m = &out.metrics[i];
            wasmon_check_types_metric_t *w = &ret->metrics.ptr[i];
            w->label = wit_string(m->label);
            w->value = m->value;
            w->uom = wit_string(m->uom);
            w->warn = wit_range(m->has_warn, &m->warn);
            w->crit = wit_range(m->has_crit, &m->crit);
            w->min = wit_f64(m->has_min, m->min);
            w->max = wit_f64(m->has_max, m->max);
        }
    } else {
        wit_error(&e, err);
    }
    wm_output_free(&out);
    free_request(&req);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Log and value store                                                 */
/* ------------------------------------------------------------------ */

void wm_log(wm_log_level level, const char *fmt, ...) {
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *text = xmalloc(n > 0 ? (size_t)n + 1 : 1);
    vsnprintf(text, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
    va_end(ap);
    check_string_t message = borrowed_string(text);
    wasmon_check_log_log((wasmon_check_log_level_t)level, &message);
    free(text);
}

bool wm_store_get(const char *key, uint8_t **data, size_t *len) {
    check_string_t k = borrowed_string(key);
    check_list_u8_t value;
    if (!wasmon_check_value_store_get(&k, &value)) {
        return false;
    }
    if (value.len == 0) {
        /* An empty list's pointer is not from malloc. */
        *data = xmalloc(1);
        *len = 0;
    } else {
        *data = value.ptr;
        *len = value.len;
    }
    return true;
}

bool wm_store_set(const char *key, const void *data, size_t len, wm_error *err) {
    check_string_t k = borrowed_string(key);
    check_list_u8_t value = {(uint8_t *)data, len};
    check_string_t why;
    if (wasmon_check_value_store_set(&k, &value, &why)) {
        return true;
    }
    char *text = c_string(&why);
    check_string_free(&why);
    wm_failed(err, "value store: cannot set '%s': %s", key, text);
    free(text);
    return false;
}

void wm_store_delete(const char *key) {
    check_string_t k = borrowed_string(key);
    wasmon_check_value_store_delete(&k);
}

bool wm_store_get_numbers(const char *key, double *values, size_t n) {
    uint8_t *data;
    size_t len;
    if (!wm_store_get(key, &data, &len)) {
        return false;
    }
    bool ok = len == n * sizeof(double);
    if (ok && n) {
        memcpy(values, data, len); /* wasm is little-endian, as stored */
    }
    free(data);
    return ok;
}

bool wm_store_set_numbers(const char *key, const double *values, size_t n, wm_error *err) {
    return wm_store_set(key, values, n * sizeof(double), err);
}

/* The wall clock in seconds since the Unix epoch. */
static double wall_clock_secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool wm_counter_rate(const char *key, double counter, bool *have_rate, double *rate, wm_error *err) {
    return wm_counter_rate_with(key, counter, WM_OVERFLOW_RAISE, have_rate, rate, err);
}

bool wm_counter_rate_with(const char *key, double value, wm_overflow overflow, bool *have_rate,
                          double *rate, wm_error *err) {
    double now = wall_clock_secs();
    double previous[2];
    bool have_previous = wm_store_get_numbers(key, previous, 2);
    double sample[2] = {now, value};
    if (!wm_store_set_numbers(key, sample, 2, err)) {
        return false;
    }
    *have_rate = wm_compute_rate_with(have_previous, previous[0], previous[1], value, now, overflow, rate);
    return true;
}

bool wm_average(const char *key, double value, double backlog_minutes, double *average, wm_error *err) {
    double stored[3];
    wm_average_state previous, *have_previous = NULL;
    if (wm_store_get_numbers(key, stored, 3)) {
        previous = (wm_average_state){stored[0], stored[1], stored[2]};
        have_previous = &previous;
    }
    wm_average_state state = wm_compute_average(have_previous, value, wall_clock_secs(), backlog_minutes);
    double next[3] = {state.start_time, state.last_time, state.average};
    if (!wm_store_set_numbers(key, next, 3, err)) {
        return false;
    }
    *average = state.average;
    return true;
}

uint64_t wm_monotonic_ns(void) {
    return wasi_clocks_monotonic_clock_now();
}

/* ------------------------------------------------------------------ */
/* TCP                                                                 */
/* ------------------------------------------------------------------ */

/* Sets c->error and returns `status`. */
static wm_net_status net_error(wm_tcp *c, wm_net_status status, const char *fmt, ...)
    WM_PRINTF(3, 4);
static wm_net_status net_error(wm_tcp *c, wm_net_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    return status;
}

static wm_net_status net_timeout(wm_tcp *c) {
    char seconds[WM_RENDER_MAX];
    wm_format_number(c->timeout, seconds, sizeof seconds);
    return net_error(c, WM_NET_TIMEOUT, "Socket timeout after %s seconds", seconds);
}

/* Maps a wasi:sockets error code. */
static wm_net_status net_code(wm_tcp *c, wasi_sockets_network_error_code_t code) {
    static const char *const names[] = {
        "Unknown error",       "Permission denied",  "Not supported",
        "Invalid address",     "Out of memory",      "Timeout",
        "Concurrency conflict", "Not in progress",   "Would block",
        "Invalid state",       "Too many sockets",   "Address not bindable",
        "Address in use",      "No route to host",   "Connection refused",
        "Connection reset by peer", "Connection aborted", "Datagram too large",
        "Name unresolvable",   "Temporary resolver failure", "Permanent resolver failure",
    };
    switch (code) {
    case WASI_SOCKETS_NETWORK_ERROR_CODE_CONNECTION_REFUSED:
        return net_error(c, WM_NET_REFUSED, "Connection refused");
    case WASI_SOCKETS_NETWORK_ERROR_CODE_TIMEOUT:
        return net_timeout(c);
    case WASI_SOCKETS_NETWORK_ERROR_CODE_ACCESS_DENIED:
        return net_error(c, WM_NET_DENIED, "Not allowed by the sandbox policy");
    default:
        return net_error(c, WM_NET_ERROR, "%s",
                         code < sizeof names / sizeof names[0] ? names[code] : "Socket error");
    }
}

/* Maps a stream error, dropping its resource. */
static wm_net_status net_stream(wm_tcp *c, wasi_io_streams_stream_error_t *e) {
    if (e->tag == WASI_IO_STREAMS_STREAM_ERROR_CLOSED) {
        return net_error(c, WM_NET_CLOSED, "Connection closed by peer");
    }
    check_string_t debug;
    wasi_io_error_method_error_to_debug_string(
        wasi_io_error_borrow_error(e->val.last_operation_failed), &debug);
    char *text = c_string(&debug);
    check_string_free(&debug);
    wasi_io_error_error_drop_own(e->val.last_operation_failed);
    if (text[0] >= 'a' && text[0] <= 'z') {
        text[0] = (char)(text[0] - 'a' + 'A');
    }
    wm_net_status status = net_error(c, WM_NET_ERROR, "%s", text[0] ? text : "Stream error");
    free(text);
    return status;
}

/* Waits until `pollable` is ready or the deadline passes; false on the deadline. */
static bool wait_ready(const wm_tcp *c, wasi_io_poll_own_pollable_t pollable) {
    if (wasi_clocks_monotonic_clock_now() >= c->deadline_ns) {
        return false;
    }
    wasi_io_poll_borrow_pollable_t ready = wasi_io_poll_borrow_pollable(pollable);
    if (wasi_io_poll_method_pollable_ready(ready)) {
        return true;
    }
    wasi_io_poll_own_pollable_t timer =
        wasi_clocks_monotonic_clock_subscribe_instant(c->deadline_ns);
    wasi_io_poll_borrow_pollable_t both[2] = {ready, wasi_io_poll_borrow_pollable(timer)};
    wasi_io_poll_list_borrow_pollable_t list = {both, 2};
    check_list_u32_t which;
    wasi_io_poll_poll(&list, &which);
    bool got = false;
    for (size_t i = 0; i < which.len; i++) {
        got = got || which.ptr[i] == 0;
    }
    check_list_u32_free(&which);
    wasi_io_poll_pollable_drop_own(timer);
    return got;
}

static wasi_sockets_tcp_borrow_tcp_socket_t socket_of(const wm_tcp *c) {
    wasi_sockets_tcp_borrow_tcp_socket_t s = {c->socket};
    return s;
}

static wasi_io_streams_borrow_input_stream_t input_of(const wm_tcp *c) {
    wasi_io_streams_borrow_input_stream_t s = {c->input};
    return s;
}

static wasi_io_streams_borrow_output_stream_t output_of(const wm_tcp *c) {
    wasi_io_streams_borrow_output_stream_t s = {c->output};
    return s;
}

wm_net_status wm_tcp_connect(wm_tcp *c, const char *address, uint16_t port, double timeout_seconds) {
    memset(c, 0, sizeof *c);
    c->timeout = timeout_seconds;
    c->start_ns = wasi_clocks_monotonic_clock_now();
    double ns = timeout_seconds * 1e9;
    c->deadline_ns = ns >= (double)(UINT64_MAX - c->start_ns) ? UINT64_MAX
                                                              : c->start_ns + (uint64_t)ns;
    wm_ip ip;
    if (!wm_parse_ip(address, &ip)) {
        return net_error(c, WM_NET_ERROR, "Invalid address '%s'", address);
    }
    wasi_sockets_network_ip_socket_address_t remote;
    memset(&remote, 0, sizeof remote);
    if (ip.v6) {
        remote.tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV6;
        remote.val.ipv6.port = port;
        uint16_t *parts[8] = {
            &remote.val.ipv6.address.f0, &remote.val.ipv6.address.f1, &remote.val.ipv6.address.f2,
            &remote.val.ipv6.address.f3, &remote.val.ipv6.address.f4, &remote.val.ipv6.address.f5,
            &remote.val.ipv6.address.f6, &remote.val.ipv6.address.f7,
        };
        for (int i = 0; i < 8; i++) {
            *parts[i] = (uint16_t)(ip.bytes[2 * i] << 8 | ip.bytes[2 * i + 1]);
        }
    } else {
        remote.tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4;
        remote.val.ipv4.port = port;
        remote.val.ipv4.address.f0 = ip.bytes[0];
        remote.val.ipv4.address.f1 = ip.bytes[1];
        remote.val.ipv4.address.f2 = ip.bytes[2];
        remote.val.ipv4.address.f3 = ip.bytes[3];
    }

    wasi_sockets_tcp_own_tcp_socket_t socket;
    wasi_sockets_network_error_code_t code;
    if (!wasi_sockets_tcp_create_socket_create_tcp_socket(
            ip.v6 ? WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV6
                  : WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4,
            &socket, &code)) {
        return net_code(c, code);
    }
    c->socket = socket.__handle;
    wasi_sockets_network_own_network_t network = wasi_sockets_instance_network_instance_network();
    wm_net_status status = WM_NET_OK;
    if (!wasi_sockets_tcp_method_tcp_socket_start_connect(
            socket_of(c), wasi_sockets_network_borrow_network(network), &remote, &code)) {
        status = net_code(c, code);
    } else {
        wasi_io_poll_own_pollable_t ready =
            wasi_sockets_tcp_method_tcp_socket_subscribe(socket_of(c));
        for (;;) {
            wasi_sockets_tcp_tuple2_own_input_stream_own_output_stream_t streams;
            if (wasi_sockets_tcp_method_tcp_socket_finish_connect(socket_of(c), &streams, &code)) {
                c->input = streams.f0.__handle;
                c->output = streams.f1.__handle;
                c->open = true;
                break;
            }
            if (code != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) {
                status = net_code(c, code);
                break;
            }
            if (!wait_ready(c, ready)) {
                status = net_timeout(c);
                break;
            }
        }
        wasi_io_poll_pollable_drop_own(ready);
    }
    wasi_sockets_network_network_drop_own(network);
    if (status != WM_NET_OK) {
        wasi_sockets_tcp_tcp_socket_drop_own(socket);
    }
    return status;
}

wm_net_status wm_tcp_write(wm_tcp *c, const void *data, size_t len) {
    if (!c->open) {
        return net_error(c, WM_NET_ERROR, "Not connected");
    }
    wasi_io_poll_own_pollable_t ready = wasi_io_streams_method_output_stream_subscribe(output_of(c));
    const uint8_t *rest = data;
    wm_net_status status = WM_NET_OK;
    wasi_io_streams_stream_error_t e;
    uint64_t permit;
    while (len > 0 && status == WM_NET_OK) {
        if (!wasi_io_streams_method_output_stream_check_write(output_of(c), &permit, &e)) {
            status = net_stream(c, &e);
        } else if (permit == 0) {
            if (!wait_ready(c, ready)) {
                status = net_timeout(c);
            }
        } else {
            size_t n = len < permit ? len : (size_t)permit;
            check_list_u8_t chunk = {(uint8_t *)rest, n};
            if (!wasi_io_streams_method_output_stream_write(output_of(c), &chunk, &e)) {
                status = net_stream(c, &e);
            }
            rest += n;
            len -= n;
        }
    }
    if (status == WM_NET_OK && !wasi_io_streams_method_output_stream_flush(output_of(c), &e)) {
        status = net_stream(c, &e);
    }
    /* The flush is done when check-write reports room again. */
    while (status == WM_NET_OK) {
        if (!wasi_io_streams_method_output_stream_check_write(output_of(c), &permit, &e)) {
            status = net_stream(c, &e);
        } else if (permit > 0) {
            break;
        } else if (!wait_ready(c, ready)) {
            status = net_timeout(c);
        }
    }
    wasi_io_poll_pollable_drop_own(ready);
    return status;
}

wm_net_status wm_tcp_write_str(wm_tcp *c, const char *text) {
    return wm_tcp_write(c, text, strlen(text));
}

/* Reads whatever arrives next into the buffer (at least one byte). */
static wm_net_status fill(wm_tcp *c) {
    if (!c->open) {
        return net_error(c, WM_NET_ERROR, "Not connected");
    }
    if (c->buf_start > 0) {
        memmove(c->buf, c->buf + c->buf_start, c->buf_end - c->buf_start);
        c->buf_end -= c->buf_start;
        c->buf_start = 0;
    }
    size_t room = sizeof c->buf - c->buf_end;
    if (room == 0) {
        return net_error(c, WM_NET_ERROR, "Read buffer full");
    }
    wasi_io_poll_own_pollable_t ready = wasi_io_streams_method_input_stream_subscribe(input_of(c));
    wm_net_status status = WM_NET_OK;
    for (;;) {
        check_list_u8_t chunk;
        wasi_io_streams_stream_error_t e;
        if (!wasi_io_streams_method_input_stream_read(input_of(c), room, &chunk, &e)) {
            status = net_stream(c, &e);
            break;
        }
        if (chunk.len > 0) {
            memcpy(c->buf + c->buf_end, chunk.ptr, chunk.len);
            c->buf_end += chunk.len;
            check_list_u8_free(&chunk);
            break;
        }
        if (!wait_ready(c, ready)) {
            status = net_timeout(c);
            break;
        }
    }
    wasi_io_poll_pollable_drop_own(ready);
    return status;
}

wm_net_status wm_tcp_read_line(wm_tcp *c, char *line, size_t size) {
    size_t max = size ? size - 1 : 0;
    if (max > sizeof c->buf - 2) {
        max = sizeof c->buf - 2; /* the line and its "\r\n" must fit the buffer */
    }
    for (;;) {
        uint8_t *start = c->buf + c->buf_start;
        size_t have = c->buf_end - c->buf_start;
        uint8_t *nl = memchr(start, '\n', have);
        if (nl) {
            size_t len = (size_t)(nl - start);
            size_t used = len + 1;
            if (len > 0 && start[len - 1] == '\r') {
                len--;
            }
            if (len > max) {
                return net_error(c, WM_NET_ERROR, "Reply line longer than %zu bytes", max);
            }
            memcpy(line, start, len);
            line[len] = '\0';
            c->buf_start += used;
            return WM_NET_OK;
        }
        if (have > max + 1) {
            return net_error(c, WM_NET_ERROR, "Reply line longer than %zu bytes", max);
        }
        wm_net_status status = fill(c);
        if (status != WM_NET_OK) {
            return status;
        }
    }
}

wm_net_status wm_tcp_read_exact(wm_tcp *c, void *data, size_t len) {
    uint8_t *out = data;
    for (;;) {
        size_t have = c->buf_end - c->buf_start;
        size_t take = have < len ? have : len;
        memcpy(out, c->buf + c->buf_start, take);
        c->buf_start += take;
        out += take;
        len -= take;
        if (len == 0) {
            return WM_NET_OK;
        }
        wm_net_status status = fill(c);
        if (status != WM_NET_OK) {
            return status;
        }
    }
}

double wm_tcp_elapsed(const wm_tcp *c) {
    return (double)(wasi_clocks_monotonic_clock_now() - c->start_ns) / 1e9;
}

void wm_tcp_close(wm_tcp *c) {
    if (!c->open) {
        return;
    }
    /* Streams are children of the socket: they go first. */
    wasi_io_streams_input_stream_drop_own((wasi_io_streams_own_input_stream_t){c->input});
    wasi_io_streams_output_stream_drop_own((wasi_io_streams_own_output_stream_t){c->output});
    wasi_sockets_tcp_tcp_socket_drop_own((wasi_sockets_tcp_own_tcp_socket_t){c->socket});
    c->open = false;
}
