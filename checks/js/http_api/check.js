/**
 * The `http_api` check: asks a JSON HTTP API on the target host for one
 * document, and judges the status code, the response time and optionally one
 * numeric value in the JSON, found by a path such as `data.queue.depth`.
 *
 * It runs inside wasmon as a component built with componentize-js, where
 * `fetch()` goes through `wasi:http/outgoing-handler` and so through the
 * sandbox's network policy; and natively under Node.js for its unit tests
 * (`node --test` in `checks/js`).
 */

import {
  CheckError,
  Levels,
  Metric,
  Output,
  Params,
  defineCheck,
  formatNumber,
  invalidParam,
  ioTimeout,
  manpage,
  paramInfo,
  parseInteger,
  parseNumber,
  render,
  responseTimeLevels,
  timeoutParam,
} from '../../../sdk/js/index.js';

/** The check's version (semver). */
export const VERSION = '0.1.0';

/** Parameters this check understands, in the order `describe` lists them. */
export const PARAMS = [
  'port',
  'path',
  'scheme',
  'expect_status',
  'field',
  'warning',
  'critical',
  'warning_lower',
  'critical_lower',
  'response_warning',
  'response_critical',
  'max_body',
  'timeout',
];

/** check_http's default for `-t`, in seconds. */
const DEFAULT_TIMEOUT = 10;

/** Default for `max_body`: 1 MiB. */
const DEFAULT_MAX_BODY = 1024 * 1024;

/**
 * The largest `max_body` accepted: 8 MiB. The body is held as bytes, then
 * as text and as the parsed document; with the JavaScript engine's own
 * ~10 MiB that stays inside the default 64 MiB memory limit.
 */
const MAX_BODY_LIMIT = 8 * 1024 * 1024;

/** How many characters of a body the long output quotes. */
const QUOTE_CHARS = 200;

/** Why the field's levels have no default. */
const NO_DEFAULT_VALUE_LEVELS = 'no default: what a normal value is depends on the API';

/** Why the response time levels have no default. */
const NO_DEFAULT_TIME_LEVELS = 'check_http has no default levels; a normal response time depends on the API';

/** What `expect_status` looks like, for error messages. */
const STATUS_SYNTAX = 'a status code (100-599) or a class such as 2xx';

/**
 * Parses `expect_status`: comma-separated status codes (`200`) and classes
 * (`2xx`), into a list of `{ text, lo, hi }`.
 *
 * @param {string} text
 * @returns {{ text: string, lo: number, hi: number }[]}
 * @throws {CheckError}
 */
export function parseStatusRules(text) {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) {
    throw invalidParam('expect_status', `the list is empty; expected ${STATUS_SYNTAX}, comma-separated`);
  }
  return parts.map((part) => {
    const cls = /^([1-5])xx$/i.exec(part);
    if (cls) {
      const base = Number(cls[1]) * 100;
      return { text: `${cls[1]}xx`, lo: base, hi: base + 99 };
    }
    const code = /^\d{3}$/.test(part) ? parseInteger(part) : undefined;
    if (code === undefined || code < 100 || code > 599) {
      throw invalidParam('expect_status', `'${part}' is not ${STATUS_SYNTAX}`);
    }
    return { text: part, lo: code, hi: code };
  });
}

/**
 * Parses a JSON path: names separated by dots, array indexes in brackets or
 * as a numeric name, names with dots or brackets quoted in brackets, and an
 * optional leading `$`: `data.queue.depth`, `items[0].count`,
 * `items.0.count`, `$.stats["req.total"]`.
 *
 * @param {string} text
 * @returns {(string | number)[]} names (strings) and indexes (numbers)
 * @throws {CheckError}
 */
export function parseFieldPath(text) {
  const fail = (why) => invalidParam('field', `${why} in '${text}'; expected a path such as data.queue.depth or items[0].count`);
  let rest = text.trim();
  if (rest.startsWith('$')) {
    rest = rest.slice(1);
    if (rest.startsWith('.')) rest = rest.slice(1);
  }
  if (rest === '') {
    throw fail('no name');
  }
  const segments = [];
  let first = true;
  while (rest !== '') {
    if (rest.startsWith('[')) {
      const index = /^\[(\d+)\]/.exec(rest);
      const quoted = /^\[(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\]/.exec(rest);
      if (index) {
        segments.push(Number(index[1]));
        rest = rest.slice(index[0].length);
      } else if (quoted) {
        segments.push((quoted[1] ?? quoted[2]).replace(/\\(.)/g, '$1'));
        rest = rest.slice(quoted[0].length);
      } else {
        throw fail("a '[' that is not followed by an index or a quoted name and ']'");
      }
    } else {
      if (!first) {
        if (!rest.startsWith('.')) {
          throw fail(`'${rest[0]}' where a '.' or '[' was expected`);
        }
        rest = rest.slice(1);
      }
      const name = /^[^.[\]]+/.exec(rest);
      if (!name) {
        throw fail('an empty name');
      }
      segments.push(name[0]);
      rest = rest.slice(name[0].length);
    }
    first = false;
  }
  return segments;
}

/** Writes a parsed path back, for messages: `data.items[0].count`. */
function pathText(segments) {
  return segments
    .map((s, i) => {
      if (typeof s === 'number') return `[${s}]`;
      const plain = /^[^.[\]"']+$/.test(s);
      if (!plain) return `[${JSON.stringify(s)}]`;
      return i === 0 ? s : `.${s}`;
    })
    .join('');
}

/** What a JSON value is, for messages: `an object`, `a string ('green')`. */
function kindOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `a string (${quote(value, 40)})`;
    case 'boolean':
      return `a boolean (${value})`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** `text` in single quotes, cut to `max` characters with an ellipsis, on one line. */
function quote(text, max) {
  const line = text.replace(/\s+/g, ' ');
  return `'${line.length > max ? `${line.slice(0, max)}…` : line}'`;
}

/**
 * Follows `segments` into a parsed JSON document.
 *
 * @param {unknown} document
 * @param {(string | number)[]} segments
 * @returns {{ found: true, value: unknown } | { found: false, reason: string }}
 */
export function lookup(document, segments) {
  let value = document;
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i];
    const where = i === 0 ? 'the document' : `'${pathText(segments.slice(0, i))}'`;
    if (Array.isArray(value)) {
      const index = typeof segment === 'number' ? segment : /^\d+$/.test(segment) ? Number(segment) : undefined;
      if (index === undefined) {
        return { found: false, reason: `${where} is an array, not an object with '${segment}'` };
      }
      if (index >= value.length) {
        return { found: false, reason: `${where} has ${value.length} elements, no [${index}]` };
      }
      value = value[index];
    } else if (value !== null && typeof value === 'object') {
      const key = String(segment);
      if (!Object.hasOwn(value, key)) {
        const keys = Object.keys(value);
        const shown = keys.length > 10 ? `${keys.slice(0, 10).join(', ')}, …` : keys.join(', ');
        return { found: false, reason: `${where} has no '${key}' (it has ${keys.length ? shown : 'no keys'})` };
      }
      value = value[key];
    } else {
      return { found: false, reason: `${where} is ${kindOf(value)}, not an object or array` };
    }
  }
  return { found: true, value };
}

/**
 * The metric label for a field path: its names joined with `_`, lower case,
 * other characters replaced by `_` (`data.queueDepth` -> `data_queuedepth`);
 * `value_` in front when it would start with a digit or be empty, `_value`
 * behind when it would clash with the check's own metrics.
 *
 * @param {(string | number)[]} segments
 * @returns {string}
 */
export function metricLabel(segments) {
  let label = segments
    .map(String)
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .split('_')
    .filter((w) => w !== '' && w !== 'current')
    .join('_');
  if (label === '' || /^\d/.test(label)) {
    label = `value_${label}`.replace(/_$/, '');
  }
  if (label === 'response_time' || label === 'size') {
    label += '_value';
  }
  return label;
}

/**
 * The numeric value of a JSON value: a number, or a string holding a
 * decimal number (`"42"`, as some APIs send counters); else undefined.
 *
 * @param {unknown} value
 * @returns {number | undefined}
 */
export function numericValue(value) {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return parseNumber(value.trim());
  return undefined;
}

/**
 * Reads and checks the parameters of a request.
 *
 * @param {object} request the WIT check-request
 */
export function settings(request) {
  const p = new Params(request.params);
  p.rejectUnknown(PARAMS);
  const scheme = p.choice('scheme', 'http', ['http', 'https']);
  const port = p.integer('port', scheme === 'https' ? 443 : 80, { min: 1, max: 65535 });
  const path = p.get('path') ?? '/';
  if (!path.startsWith('/') || /[\s#]/.test(path)) {
    throw invalidParam('path', `expected a path starting with '/' without blanks or '#', got '${path}'`);
  }
  const expect = parseStatusRules(p.get('expect_status') ?? '2xx');
  const field = p.has('field') ? parseFieldPath(p.get('field')) : undefined;
  const upper = p.levelsUpper('warning', 'critical');
  const lower = p.levelsLower('warning_lower', 'critical_lower');
  if (!field && !(upper.isNone() && lower.isNone())) {
    const given = ['warning', 'critical', 'warning_lower', 'critical_lower'].find((n) => p.has(n));
    throw invalidParam(given, "levels on a value need 'field', the path of the value in the JSON response");
  }
  const levels = new Levels(upper.upper, lower.lower);
  const responseLevels = p.levelsUpper('response_warning', 'response_critical');
  const maxBody = p.integer('max_body', DEFAULT_MAX_BODY, { min: 1, max: MAX_BODY_LIMIT });
  const timeout = ioTimeout(request, DEFAULT_TIMEOUT);

  const address = request.target.address;
  const name = request.target.name;
  // Plain HTTP goes to the address the host resolved -H to (the sandbox
  // grants exactly that); HTTPS needs the name, for the certificate.
  let host = scheme === 'https' && name ? name : address || name;
  if (!host) {
    throw CheckError.badParams('the target has no address: run the check with -H HOST');
  }
  if (host.includes(':') && !host.startsWith('[')) {
    host = `[${host}]`;
  }
  const defaultPort = scheme === 'https' ? 443 : 80;
  const url = `${scheme}://${host}${port === defaultPort ? '' : `:${port}`}${path}`;
  return { url, place: `${host}:${port}`, expect, field, levels, responseLevels, maxBody, timeout };
}

/** Seconds as check_http writes them in its timeout message: `9`, `2.5`. */
function secondsText(seconds) {
  return formatNumber(Math.round(seconds * 1000) / 1000);
}

/** Whether `e` is what an aborted fetch or body read throws. */
function isTimeout(e) {
  return e?.name === 'TimeoutError' || e?.name === 'AbortError';
}

/**
 * Reads at most `limit` bytes of a response body.
 *
 * @param {Response} response
 * @param {number} limit
 * @returns {Promise<{ bytes: Uint8Array, truncated: boolean }>}
 */
async function readBody(response, limit) {
  if (!response.body) {
    return { bytes: new Uint8Array(), truncated: false };
  }
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.length > limit) {
      chunks.push(value.subarray(0, limit - size));
      size = limit;
      truncated = true;
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    size += value.length;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, truncated };
}

/** The start of a body, for the long output. */
function bodyStart(text) {
  return `Body starts with: ${quote(text, QUOTE_CHARS)}`;
}

/**
 * Sends the request and judges the response.
 *
 * @param {ReturnType<typeof settings>} s
 * @returns {Promise<Output>}
 */
export async function run(s) {
  const out = new Output();
  const started = performance.now();
  const signal = AbortSignal.timeout(Math.max(1, Math.round(s.timeout * 1000)));
  let response;
  let body;
  try {
    response = await fetch(s.url, { signal, headers: { accept: 'application/json' } });
    body = await readBody(response, s.maxBody);
  } catch (e) {
    if (isTimeout(e)) {
      out.crit(`Socket timeout after ${secondsText(s.timeout)} seconds`);
    } else if (response) {
      if (!(e instanceof TypeError)) {
        throw e; // not the network: out of memory, a bug; UNKNOWN with the exception
      }
      out.crit(`Reading the response from ${s.place} failed: ${e?.cause?.message ?? e.message}`);
    } else {
      // StarlingMonkey's fetch() rejects every failed request with the same
      // TypeError ("NetworkError when attempting to fetch resource."): it
      // drops the wasi:http error code. Node.js adds the reason as `cause`.
      const why = e?.cause?.message ?? e?.message ?? String(e);
      out.crit(`Connection to ${s.place} failed: ${why}`);
      out.details(
        `Request: GET ${s.url}\n` +
          'The connection was refused or reset, TLS or the HTTP exchange failed, or the sandbox ' +
          'policy does not allow the address (by default only the -H address); fetch() does not ' +
          'say which. `wasmon check -v` logs requests the policy denies.',
      );
    }
    return out;
  }
  const elapsed = (performance.now() - started) / 1000;

  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const expected = s.expect.some((r) => response.status >= r.lo && response.status <= r.hi);
  const text = new TextDecoder().decode(body.bytes);
  if (expected) {
    out.ok(`Status: ${status}`);
  } else {
    out.crit(`Status: ${status} (expected ${s.expect.map((r) => r.text).join(', ')})`);
    const location = response.headers.get('location');
    if (location) out.details(`Location: ${location}`);
    if (text) out.details(bodyStart(text));
  }
  out.responseTime(elapsed, s.responseLevels, s.timeout);
  out.metric(Metric.bytes('size', body.bytes.length));
  if (!expected) {
    return out;
  }

  if (body.truncated) {
    out.unknown(`Response larger than max_body (${render.bytes(s.maxBody)}); raise max_body to read it`);
    return out;
  }
  if (text.trim() === '' && !s.field) {
    return out;
  }
  let document;
  try {
    document = JSON.parse(text);
  } catch (e) {
    const type = response.headers.get('content-type');
    out.crit(`Response is not JSON: ${e.message}${type ? ` (content type ${type})` : ''}`);
    out.details(text.trim() === '' ? 'The body is empty' : bodyStart(text));
    return out;
  }
  if (!s.field) {
    return out;
  }
  const found = lookup(document, s.field);
  const name = pathText(s.field);
  if (!found.found) {
    out.unknown(`Field ${name} not found: ${found.reason}`);
    return out;
  }
  const value = numericValue(found.value);
  if (value === undefined) {
    out.unknown(`Field ${name} is ${kindOf(found.value)}, not a number`);
    return out;
  }
  out.push(s.levels.check(value, `Field ${name}`));
  out.metric(Metric.number(metricLabel(s.field), value).withLevels(s.levels));
  return out;
}

/** The check-info: name, manpage and parameters. */
function info() {
  const [responseWarning, responseCritical] = responseTimeLevels(NO_DEFAULT_TIME_LEVELS, [
    'response_warning',
    'response_critical',
  ]);
  return {
    name: 'http_api',
    version: VERSION,
    title: 'HTTP API: status, response time and a JSON value',
    manpage: manpage(
      'Sends one HTTP GET (Accept: application/json) to an API of the target host and reads ' +
        'the JSON document it answers with. Plain HTTP connects to the address wasmon resolved ' +
        '-H to; HTTPS connects to the host name, whose certificate must be valid. Redirects are ' +
        "not followed. With 'field', one value of the document (a number, or a string holding " +
        'a number) is compared with upper and lower levels and written as a metric named after ' +
        'the path.\n' +
        "OK: the status is one of 'expect_status' (2xx), the body is JSON, the value and the " +
        'response time are below their levels.\n' +
        'WARN: the value or the response time is at or above its warning level, or the value is ' +
        'below its lower warning level.\n' +
        'CRIT: the status is not expected; the body is not JSON; the value or the response time ' +
        'is at or above its critical level or the value below its lower critical level; the ' +
        "server cannot be reached, or answers not at all within the timeout ('Socket timeout " +
        "after 9 seconds').\n" +
        "UNKNOWN: the field is not in the document or is not a number; the body exceeds " +
        "'max_body'; a parameter is wrong.",
    ),
    params: [
      paramInfo('port', 'TCP port, 1-65535.', { default: '80, or 443 with scheme https' }),
      paramInfo('path', "Path and query to request, starting with '/', e.g. '/api/health?verbose=1'.", {
        default: '/',
      }),
      paramInfo('scheme', 'http or https.', { default: 'http' }),
      paramInfo(
        'expect_status',
        'Comma-separated status codes and classes that are OK, e.g. 200,204 or 2xx; any other ' +
          'status is CRIT and the body is not read further.',
        { default: '2xx', source: 'HTTP: 2xx means success' },
      ),
      paramInfo(
        'field',
        'Path of a numeric value in the JSON document: names separated by dots, array indexes ' +
          'as [0] or .0, names with dots quoted as ["a.b"], e.g. data.queue.depth or ' +
          'workers[0].busy. Without it only the status, the JSON syntax and the response time are ' +
          'checked.',
      ),
      paramInfo('warning', "Value of 'field' at or above which the check is WARN.", {
        source: NO_DEFAULT_VALUE_LEVELS,
      }),
      paramInfo('critical', "Value of 'field' at or above which the check is CRIT.", {
        source: NO_DEFAULT_VALUE_LEVELS,
      }),
      paramInfo('warning_lower', "Value of 'field' below which the check is WARN.", {
        source: NO_DEFAULT_VALUE_LEVELS,
      }),
      paramInfo('critical_lower', "Value of 'field' below which the check is CRIT.", {
        source: NO_DEFAULT_VALUE_LEVELS,
      }),
      responseWarning,
      responseCritical,
      paramInfo(
        'max_body',
        `Read at most this many bytes of the body (1 to ${MAX_BODY_LIMIT}); a larger document is UNKNOWN.`,
        { default: `${DEFAULT_MAX_BODY} (1 MiB)`, source: 'wasmon: a bound on guest memory and transfer' },
      ),
      timeoutParam('for the whole request', DEFAULT_TIMEOUT, "check_http's default for -t"),
    ],
  };
}

export const { describe, discover, check } = defineCheck({
  describe: info,
  async check(request) {
    return run(settings(request));
  },
});
