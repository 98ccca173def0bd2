"""One HTTP GET over ``wasi:http/outgoing-handler``, bounded by the check's
own deadline: the host sends the request (and does TLS); the guest waits on
the response and body pollables with ``Deadline.wait``, so a slow server
cannot hold the check past its timeout."""

from __future__ import annotations

from componentize_py_types import Err

from http_json import VERSION, FetchError, Response, Settings
from wasmon_check import bindings
from wasmon_check.deadline import Deadline


def _code(error_code) -> FetchError:
    """A FetchError from a wasi:http error-code case (class ErrorCode_Xyz)."""
    kind = type(error_code).__name__.split("_", 1)[-1]
    payload = getattr(error_code, "value", None)
    detail = None
    if isinstance(payload, str):
        detail = payload
    elif payload is not None:
        detail = getattr(payload, "rcode", None) or getattr(payload, "alert_message", None)
    return FetchError(kind, detail)


def _nanos(seconds: float) -> int:
    return max(int(seconds * 1e9), 1)


def fetch(s: Settings, deadline: Deadline) -> Response:
    """Sends the GET of `s` and reads at most ``s.max_body`` bytes of the
    body before `deadline`; raises FetchError."""
    http = bindings.wasi("wasi:http", "types")
    handler = bindings.wasi("wasi:http", "outgoing-handler")
    streams = bindings.wasi("wasi:io", "streams")

    headers = http.Fields.from_list([
        ("user-agent", f"wasmon-check-http_json/{VERSION}".encode()),
        ("accept", b"application/json"),
    ])
    request = http.OutgoingRequest(headers)
    try:
        request.set_method(http.Method_Get())
        request.set_scheme(http.Scheme_Https() if s.tls else http.Scheme_Http())
    except Err:
        raise FetchError("Request", "method or scheme rejected") from None
    try:
        request.set_authority(s.authority)
    except Err:
        raise FetchError("Request", f"invalid host '{s.authority}'") from None
    try:
        request.set_path_with_query(s.path)
    except Err:
        raise FetchError("Request", f"invalid path '{s.path}'") from None
    options = http.RequestOptions()
    for setter in (options.set_connect_timeout, options.set_first_byte_timeout, options.set_between_bytes_timeout):
        try:
            setter(_nanos(s.timeout))
        except Err:
            pass  # a host may not support one; the deadline still holds

    try:
        future = handler.handle(request, options)
    except Err as e:
        raise _code(e.value) from None
    with future:
        with future.subscribe() as ready:
            while True:
                got = future.get()
                if got is not None:
                    break
                if not deadline.wait(ready):
                    raise FetchError("Timeout")
        if isinstance(got, Err):
            raise FetchError("Request", "response taken twice")
        inner = got.value
        if isinstance(inner, Err):
            raise _code(inner.value)
        response = inner.value

    with response:
        status = response.status()
        try:
            body = response.consume()
        except Err:
            raise FetchError("Body", "response body unavailable") from None
        with body:
            try:
                stream = body.stream()
            except Err:
                raise FetchError("Body", "response body stream unavailable") from None
            with stream:
                with stream.subscribe() as readable:
                    data, truncated = _read(stream, readable, deadline, s.max_body, http, streams)
    return Response(status, data, truncated)


def _read(stream, readable, deadline: Deadline, limit: int, http, streams):
    chunks = []
    size = 0
    while True:
        # One byte past the limit tells a body of exactly `limit` from a longer one.
        room = limit - size
        try:
            chunk = stream.read(min(room, 65536) if room > 0 else 1)
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                return b"".join(chunks), False
            code = http.http_error_code(e.value.value)
            if code is not None:
                raise _code(code) from None
            raise FetchError("Body", e.value.value.to_debug_string()) from None
        if not chunk:
            if not deadline.wait(readable):
                raise FetchError("Timeout")
            continue
        if room <= 0:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
