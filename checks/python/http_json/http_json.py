"""The `http_json` check: GETs a JSON health endpoint of the target host over
``wasi:http/outgoing-handler`` and judges the service's own verdict (a status
field such as ``"status": "degraded"``), numeric fields as metrics with
levels, the HTTP status and the response time.

Everything here runs natively, so the logic is unit-tested with
``python3 -m unittest`` (see test_http_json.py); the request itself is in
fetch.py, which app.py hands to the check it exports. Every import is at
module level: at run time the component has no filesystem to import from.
"""

from __future__ import annotations

import http
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from wasmon_check import (
    BadParams, Check, CheckInfo, CheckRequest, Failed, Levels, Manpage, Metric, Output, ParamInfo,
    check_levels, invalid_param, parse_number, render,
)
from wasmon_check.deadline import Deadline

VERSION = "0.1.0"

#: Every parameter, in the order `describe` documents them.
PARAMS = [
    "scheme", "port", "path", "status_field", "ok_values", "warn_values", "crit_values",
    "fields", "levels", "levels_lower", "max_body", "warning", "critical", "timeout",
]

DEFAULT_PATH = "/health"
DEFAULT_STATUS_FIELD = "status"
#: Default status values, compared case-insensitively. They cover the IETF
#: draft "Health Check Response Format for HTTP APIs" (pass/warn/fail),
#: Spring Boot Actuator (UP/DOWN/OUT_OF_SERVICE), the common ok/degraded/down,
#: and booleans (a field such as "healthy": true).
DEFAULT_OK_VALUES = "ok,pass,up,healthy,true"
DEFAULT_WARN_VALUES = "warn,warning,degraded"
DEFAULT_CRIT_VALUES = "fail,down,error,critical,unhealthy,out_of_service,false"
STATUS_VALUES_SOURCE = (
    "IETF draft-inadarei-api-health-check (pass/warn/fail), Spring Boot Actuator "
    "(UP/DOWN/OUT_OF_SERVICE) and the common ok/degraded/down"
)
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BODY = 1 << 20
#: CPython, the parsed document and the body share the guest's memory (64 MiB
#: by default); 4 MiB of JSON leaves ample room.
MAX_BODY_LIMIT = 4 << 20

#: Units a field may be given in, and the factor to its canonical unit.
UNITS = {"": ("", 1.0), "s": ("s", 1.0), "ms": ("s", 1e-3), "b": ("B", 1.0), "%": ("%", 1.0), "c": ("c", 1.0)}


# --- parameters -----------------------------------------------------------------


@dataclass
class FieldSpec:
    """A numeric field to report: where it is, its metric label, its unit
    (canonical, and the factor from the JSON value to it) and its levels in
    the canonical unit."""

    path: str
    label: str
    uom: str = ""
    factor: float = 1.0
    levels: Levels = field(default_factory=Levels)
    #: The name in the summary; from the path when empty.
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = name_for(self.path)


@dataclass
class Settings:
    """The parameters of one run, parsed and checked."""

    tls: bool
    host: str
    port: int
    path: str
    status_field: Optional[str]
    ok_values: List[str]
    warn_values: List[str]
    crit_values: List[str]
    #: Fields named by `fields`, `levels` or `levels_lower`; with
    #: `auto_fields` also every number at the top level of the document.
    fields: List[FieldSpec]
    auto_fields: bool
    max_body: int
    response_levels: Levels
    timeout: float

    @property
    def authority(self) -> str:
        """``host:port`` for the request; IPv6 addresses in brackets."""
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The URL as shown in messages."""
        return f"{'https' if self.tls else 'http'}://{self.authority}{self.path}"


def _values(req: CheckRequest, name: str, default: str) -> List[str]:
    raw = req.params.string(name, default)
    values = [v.strip().lower() for v in raw.split(",") if v.strip()]
    if not values:
        raise invalid_param(name, "give at least one value")
    return values


#: Words that only name a unit the value is converted from; dropped from the
#: names of fields given in that unit ('latency_ms:ms' is metric 'latency').
UNIT_WORDS = {"ms": {"ms", "millis", "milliseconds"}}


#: Compiled at import: every run starts from the build-time snapshot, with an
#: empty `re` cache, so a pattern compiled inside a function costs each run.
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


def _words(path: str, unit: str) -> List[str]:
    words = [w for w in _NON_WORD.split(path) if w]
    if len(words) > 1 and words[-1].lower() in UNIT_WORDS.get(unit.lower(), ()):
        words.pop()
    return words


def label_for(path: str, unit: str = "") -> str:
    """The metric label of a field path: lower case, every run of other
    characters than letters and digits an underscore, the filler word
    'current' dropped (Checkmk guideline 6.2), and a last word that only names
    the unit converted from ('ms'); ``value`` when nothing is left.

    >>> label_for("db.latencyMs"), label_for("current-connections"), label_for("9lives")
    ('db_latencyms', 'connections', '_9lives')
    >>> label_for("latency_ms", "ms")
    'latency'
    """
    words = [w.lower() for w in _words(path, unit) if w.lower() != "current"]
    label = "_".join(words) or "value"
    return f"_{label}" if label[0].isdigit() else label


def name_for(path: str, unit: str = "") -> str:
    """The text name of a field: its path in words, capitalized, without a
    last word that only names the unit converted from.

    >>> name_for("queue.depth"), name_for("db_latency_ms"), name_for("db_latency_ms", "ms")
    ('Queue depth', 'Db latency ms', 'Db latency')
    """
    words = " ".join(_words(path, unit))
    return words[:1].upper() + words[1:] if words else path


def _parse_field(entry: str) -> Tuple[str, str]:
    path, _, unit = entry.partition(":")
    return path.strip(), unit.strip()


def _parse_fields(raw: str) -> List[FieldSpec]:
    specs = []
    for entry in (e for e in raw.split(",") if e.strip()):
        path, unit = _parse_field(entry)
        if not path:
            raise invalid_param("fields", f"entry '{entry.strip()}' has no field path")
        if unit.lower() not in UNITS:
            raise invalid_param(
                "fields", f"unit '{unit}' of '{path}' is not one of s, ms, B, %, c (or none for a plain number)"
            )
        uom, factor = UNITS[unit.lower()]
        specs.append(FieldSpec(path, label_for(path, unit), uom, factor, name=name_for(path, unit)))
    return specs


def _parse_levels(raw: str, name: str) -> List[Tuple[str, float, float]]:
    levels = []
    for entry in (e.strip() for e in raw.split(",") if e.strip()):
        parts = entry.split(":")
        if len(parts) != 3 or not parts[0].strip():
            raise invalid_param(name, f"expected entries FIELD:WARN:CRIT separated by commas, got '{entry}'")
        warn, crit = parse_number(parts[1].strip()), parse_number(parts[2].strip())
        if warn is None or crit is None:
            raise invalid_param(name, f"'{entry}': WARN and CRIT must be numbers")
        levels.append((parts[0].strip(), warn, crit))
    return levels


def parse_settings(req: CheckRequest) -> Settings:
    """Reads and checks the request's parameters; raises BadParams naming
    the parameter at fault."""
    p = req.params
    p.reject_unknown(PARAMS)
    scheme = p.choice("scheme", "http", ["http", "https"])
    tls = scheme == "https"
    port = p.integer("port", 443 if tls else 80, 1, 65535)
    path = p.string("path", DEFAULT_PATH).strip()
    if not path.startswith("/"):
        path = "/" + path
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in path):
        raise invalid_param("path", f"'{path}' contains blanks or control characters")
    host = req.target.host
    if not host:
        raise BadParams("this check needs a target host (-H) to send its request to")

    status_field = p.string("status_field", DEFAULT_STATUS_FIELD).strip() or None
    ok_values = _values(req, "ok_values", DEFAULT_OK_VALUES)
    warn_values = _values(req, "warn_values", DEFAULT_WARN_VALUES)
    crit_values = _values(req, "crit_values", DEFAULT_CRIT_VALUES)
    for name, values, others in [
        ("warn_values", warn_values, ok_values),
        ("crit_values", crit_values, ok_values + warn_values),
    ]:
        both = [v for v in values if v in others]
        if both:
            raise invalid_param(name, f"'{both[0]}' is also listed as a better state")

    raw_fields = p.get("fields")
    auto_fields = raw_fields is None
    fields = _parse_fields(raw_fields or "")
    seen: Dict[str, FieldSpec] = {}
    for spec in fields:
        if spec.path in seen:
            raise invalid_param("fields", f"'{spec.path}' is listed twice")
        clash = next((s for s in seen.values() if s.label == spec.label), None)
        if clash is not None:
            raise invalid_param("fields", f"'{clash.path}' and '{spec.path}' both become metric '{spec.label}'")
        seen[spec.path] = spec
    for name, make in [("levels", Levels.at_or_above), ("levels_lower", Levels.below)]:
        for field_path, warn, crit in _parse_levels(p.string(name, ""), name):
            spec = seen.get(field_path)
            if spec is None:
                spec = FieldSpec(field_path, label_for(field_path))
                if any(other.label == spec.label for other in seen.values()):
                    raise invalid_param(
                        name, f"'{field_path}' becomes metric '{spec.label}', which another field has"
                    )
                seen[field_path] = spec
                fields.append(spec)
            scaled = make(warn * spec.factor, crit * spec.factor)
            if name == "levels":
                if spec.levels.upper is not None:
                    raise invalid_param(name, f"'{field_path}' is listed twice")
                spec.levels = Levels(upper=scaled.upper, lower=spec.levels.lower)
            else:
                if spec.levels.lower is not None:
                    raise invalid_param(name, f"'{field_path}' is listed twice")
                spec.levels = Levels(upper=spec.levels.upper, lower=scaled.lower)

    max_body = p.integer("max_body", DEFAULT_MAX_BODY, 0, MAX_BODY_LIMIT)
    response_levels = p.levels_upper("warning", "critical")
    timeout = req.io_timeout(DEFAULT_TIMEOUT)
    return Settings(tls, host, port, path, status_field, ok_values, warn_values, crit_values,
                    fields, auto_fields, max_body, response_levels, timeout)


# --- the response ------------------------------------------------------------------


@dataclass
class Response:
    """What came back: the status code, the body bytes read (at most
    max_body) and whether there was more."""

    status: int
    body: bytes
    truncated: bool = False


class FetchError(Exception):
    """Why there is no response: a `wasi:http` error-code case name
    (``ConnectionRefused``, ``DnsError``, ...), ``Timeout`` for the check's
    own deadline, or ``Request``/``Body`` with a message."""

    def __init__(self, kind: str, detail: Optional[str] = None) -> None:
        super().__init__(kind if detail is None else f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


_MISSING = object()


def lookup(document: Any, path: str) -> Any:
    """The value at `path` (keys separated by dots, array elements by their
    index), or the sentinel ``_MISSING``.

    >>> lookup({"a": {"b": [1, {"c": 2}]}}, "a.b.1.c")
    2
    """
    value = document
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _render(uom: str):
    if uom == "s":
        return render.seconds
    if uom == "B":
        return render.bytes
    if uom == "%":
        return render.percent
    return render.number


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _snippet(body: bytes, limit: int = 60) -> str:
    text = body[:limit].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text + ("..." if len(body) > limit else "")


def parse_document(response: Response) -> Tuple[Any, Optional[str]]:
    """The parsed body, or None and why it could not be parsed."""
    if response.truncated:
        return None, f"Response body larger than max_body ({render.bytes(len(response.body))}), not parsed"
    if not response.body.strip():
        return None, "Response body is empty, expected JSON"
    try:
        return json.loads(response.body, parse_constant=_reject_constant), None
    except UnicodeDecodeError:
        return None, "Response body is not UTF-8 text, expected JSON"
    except ValueError as e:
        reason = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        where = f" at line {e.lineno} column {e.colno}" if isinstance(e, json.JSONDecodeError) else ""
        return None, f"Response is not valid JSON: {reason}{where}"


def evaluate(s: Settings, response: Response, elapsed: float) -> Output:
    """Judges a response: HTTP status, the status field, the numeric fields
    and the response time."""
    out = Output()
    http_ok = 200 <= response.status <= 299
    if not http_ok:
        out.crit(f"HTTP status: {status_text(response.status)}")
    document, problem = parse_document(response)
    if problem is not None:
        if http_ok:
            out.unknown(problem)
            if response.body and not response.truncated:
                out.details(f"Body starts: '{_snippet(response.body)}'")
        else:
            # The HTTP status explains it; the body is detail.
            out.details(problem)
    else:
        if s.status_field is not None:
            _judge_status(s, document, out)
        _report_fields(s, document, out)
    out.response_time(elapsed, s.response_levels, s.timeout)
    return out


def _judge_status(s: Settings, document: Any, out: Output) -> None:
    path = s.status_field
    assert path is not None
    value = lookup(document, path)
    name = name_for(path)
    if value is _MISSING:
        out.unknown(f"{name}: field '{path}' not in the response")
        return
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        text = str(value)
    else:
        out.unknown(f"{name}: field '{path}' is {_kind(value)}, expected a text")
        return
    key = text.strip().lower()
    if key in s.ok_values:
        out.ok(f"{name}: {text}")
    elif key in s.warn_values:
        out.warn(f"{name}: {text}")
    elif key in s.crit_values:
        out.crit(f"{name}: {text}")
    else:
        out.unknown(f"{name}: {text} (not a known value)")
        out.details(
            f"OK: {', '.join(s.ok_values)}; WARN: {', '.join(s.warn_values)}; CRIT: {', '.join(s.crit_values)}"
        )


def _fields_of(s: Settings, document: Any) -> List[FieldSpec]:
    specs = list(s.fields)
    if s.auto_fields and isinstance(document, dict):
        taken_paths = {spec.path for spec in specs}
        taken_labels = {spec.label for spec in specs}
        for key, value in document.items():
            if key in taken_paths or key == s.status_field:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            label = label_for(key)
            if label in taken_labels:
                continue  # two keys that differ only in case or punctuation: the first wins
            taken_labels.add(label)
            specs.append(FieldSpec(key, label))
    return specs


def _report_fields(s: Settings, document: Any, out: Output) -> None:
    for spec in _fields_of(s, document):
        name = spec.name
        value = lookup(document, spec.path)
        if value is _MISSING:
            out.unknown(f"{name}: field '{spec.path}' not in the response")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.unknown(f"{name}: field '{spec.path}' is {_kind(value)}, expected a number")
            continue
        number = float(value) * spec.factor
        if number != number or abs(number) == float("inf"):
            out.unknown(f"{name}: field '{spec.path}' is too large")
            continue
        if spec.uom == "%" and not 0 <= number <= 100:
            out.unknown(f"{name}: {render.number(number)} is not a percentage from 0 to 100")
            continue
        out.push(check_levels(number, spec.levels, name, _render(spec.uom)))
        metric = Metric(spec.label, number, spec.uom).with_levels(spec.levels)
        if spec.uom == "%":
            metric = metric.with_min(0.0).with_max(100.0)
        out.metric(metric)


def status_text(code: int) -> str:
    """``503 Service Unavailable``, or the bare code when it has no name."""
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def failure_text(error: FetchError, s: Settings) -> str:
    """The one line for a request that got no response, in check_http's words."""
    seconds = render.number(s.timeout, 3)
    place = s.authority
    kind, detail = error.kind, error.detail
    texts = {
        "Timeout": f"Socket timeout after {seconds} seconds",
        "ConnectionTimeout": f"Socket timeout after {seconds} seconds",
        "ConnectionReadTimeout": f"Socket timeout after {seconds} seconds",
        "ConnectionWriteTimeout": f"Socket timeout after {seconds} seconds",
        "HttpResponseTimeout": f"Socket timeout after {seconds} seconds",
        "DnsTimeout": f"DNS lookup of {s.host} timed out",
        "DnsError": f"DNS lookup of {s.host} failed" + (f": {detail}" if detail else ""),
        "DestinationNotFound": f"Host {s.host} not found",
        "DestinationUnavailable": f"Connect to {place}: Host unavailable",
        "DestinationIpProhibited": f"Request to {place} not allowed by the sandbox policy",
        "HttpRequestDenied": f"Request to {place} not allowed by the sandbox policy",
        "DestinationIpUnroutable": f"Connect to {place}: No route to host",
        "ConnectionRefused": f"Connect to {place}: Connection refused",
        "ConnectionTerminated": f"Connection to {place} closed unexpectedly",
        "ConnectionLimitReached": f"Connect to {place}: Connection limit reached",
        "TlsProtocolError": f"TLS handshake with {place} failed",
        "TlsCertificateError": f"TLS certificate of {place} not valid",
        "TlsAlertReceived": f"TLS alert from {place}" + (f": {detail}" if detail else ""),
        "HttpResponseIncomplete": f"Incomplete HTTP response from {place}",
        "HttpProtocolError": f"Invalid HTTP response from {place}",
        "Request": f"Invalid request for {s.url}: {detail}",
        "Body": f"Reading the response body from {place} failed: {detail}",
    }
    if kind in texts:
        return texts[kind]
    return f"Request to {place} failed: {kind}" + (f" ({detail})" if detail else "")


# --- the check ----------------------------------------------------------------------


class HttpJson(Check):
    """GETs a JSON health endpoint and judges what it says."""

    def describe(self) -> CheckInfo:
        warning, critical = ParamInfo.response_time_levels(
            "no default levels; a normal response time depends on the service"
        )
        return CheckInfo(
            name="http_json",
            version=VERSION,
            title="Network: JSON health endpoint",
            manpage=Manpage(
                "Sends one HTTP/1.1 GET request to a JSON health endpoint of the target host "
                "(scheme://host:port/path, by default http://HOST:80/health; redirects are not "
                "followed) and reads the JSON document it answers with: the service's own verdict "
                "in a status field (by default 'status'), and numbers that become metrics. "
                "Field paths are keys separated by dots, array elements by their index "
                "('checks.0.status').\n"
                "OK: the HTTP status is 2xx, the status field has one of the 'ok_values' "
                "(ok, pass, up, healthy, true), the fields are below their levels and the "
                "response time below its levels.\n"
                "WARN: the status field has one of the 'warn_values' (warn, warning, degraded); "
                "a field or the response time is at or above its warning level (below it, for "
                "'levels_lower').\n"
                "CRIT: the status field has one of the 'crit_values' (fail, down, error, critical, "
                "unhealthy, out_of_service, false); the HTTP status is not 2xx (a JSON body is "
                "still judged); the server cannot be reached, refuses the connection, fails TLS or "
                "does not answer within the timeout ('Socket timeout after 10 seconds'); the request "
                "is not allowed by the sandbox policy (by default only the target host may be "
                "contacted); a field or the response time is at or above its critical level.\n"
                "UNKNOWN: a 2xx response is not valid JSON (the message says where it breaks) or is "
                "larger than 'max_body'; the status field or a field named in 'fields' or 'levels' "
                "is missing or of the wrong type; the status has none of the listed values."
            ),
            params=[
                ParamInfo("scheme", "http or https (TLS, certificates verified by the host).", "http"),
                ParamInfo("port", "TCP port, 1-65535.", "80, or 443 for https"),
                ParamInfo("path", "Path and query to request, e.g. '/actuator/health'.", DEFAULT_PATH,
                          "a common convention for health endpoints"),
                ParamInfo(
                    "status_field",
                    "Path of the field holding the service's verdict, e.g. 'status' or 'health.state'. "
                    "Its value (a text, number or boolean) is compared case-insensitively with the "
                    "three lists below; any other value is UNKNOWN. Empty: no status field, "
                    "only metrics.",
                    DEFAULT_STATUS_FIELD, "the IETF draft and Spring Boot Actuator both use 'status'",
                ),
                ParamInfo("ok_values", "Comma-separated status values that are OK.", DEFAULT_OK_VALUES,
                          STATUS_VALUES_SOURCE),
                ParamInfo("warn_values", "Comma-separated status values that are WARN.", DEFAULT_WARN_VALUES,
                          STATUS_VALUES_SOURCE),
                ParamInfo("crit_values", "Comma-separated status values that are CRIT.", DEFAULT_CRIT_VALUES,
                          STATUS_VALUES_SOURCE),
                ParamInfo(
                    "fields",
                    "Comma-separated numeric fields to report, each PATH or PATH:UNIT with UNIT one of s, "
                    "ms (converted to seconds), B, % (0-100) or c (a counter); none for a plain number. "
                    "Each becomes a partial result and a metric named after its path ('queue.depth' is "
                    "'Queue depth' and metric queue_depth). Empty: none besides those in 'levels'.",
                    "every number at the top level of the document, as plain numbers",
                ),
                ParamInfo(
                    "levels",
                    "Upper levels for fields, comma-separated FIELD:WARN:CRIT in the field's own unit "
                    "(milliseconds for an ms field): WARN at or above WARN, CRIT at or above CRIT, e.g. "
                    "'queue.depth:100:500'. A field named here is reported even if 'fields' omits it. "
                    "Default: no levels.",
                ),
                ParamInfo(
                    "levels_lower",
                    "Lower levels for fields, comma-separated FIELD:WARN:CRIT: WARN below WARN, CRIT below "
                    "CRIT, e.g. 'workers.idle:2:1'. Default: no levels.",
                ),
                ParamInfo(
                    "max_body",
                    f"Read at most this many bytes of the body (0 to {MAX_BODY_LIMIT}); a longer body is "
                    "not parsed (UNKNOWN).",
                    f"{DEFAULT_MAX_BODY} (1 MiB)",
                    "wasmon: a bound on guest memory and transfer",
                ),
                warning,
                critical,
                ParamInfo.timeout("for the whole request", DEFAULT_TIMEOUT, "check_http's default for -t"),
            ],
        )

    def __init__(self, fetch: Optional[Callable[[Settings, Deadline], Response]] = None) -> None:
        """`fetch` sends the request (fetch.fetch in the component, a fake in tests)."""
        self._fetch = fetch

    def check(self, request: CheckRequest) -> Output:
        settings = parse_settings(request)
        if self._fetch is None:
            raise Failed("this HttpJson was made without a fetch function")
        deadline = Deadline.after(settings.timeout)
        try:
            response = self._fetch(settings, deadline)
        except FetchError as e:
            return Output().crit(failure_text(e, settings))
        return evaluate(settings, response, deadline.elapsed())
