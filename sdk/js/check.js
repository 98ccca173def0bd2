/**
 * Turning a check's three functions into the component's exports.
 *
 * @module check
 */

import { Output } from './output.js';

/**
 * Whether `e` carries a WIT `check-error` value (a {@link CheckError}, also
 * one from another copy of this module).
 */
function isCheckError(e) {
  return e !== null && typeof e === 'object' && typeof e.payload?.tag === 'string';
}

/** "file:line:col" of the first stack frame of `e`, if it has one. */
function origin(e) {
  const stack = typeof e?.stack === 'string' ? e.stack : '';
  for (const line of stack.split('\n')) {
    // SpiderMonkey: "fn@file:line:col"; V8: "    at fn (file:line:col)".
    const m = /@(.+:\d+:\d+)$/.exec(line) ?? /\(?([^\s()]+:\d+:\d+)\)?$/.exec(line.trim());
    if (m) {
      return m[1];
    }
  }
  return undefined;
}

/**
 * The message for an exception the check did not expect:
 * `Check raised TypeError: x is undefined (at check.js:12:5)`, or
 * `Check raised out of memory` for a thrown non-Error value.
 *
 * @param {unknown} e
 * @returns {string}
 */
export function describeException(e) {
  // SpiderMonkey throws a plain string for "out of memory".
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const at = origin(e);
  return `Check raised ${text}${at ? ` (at ${at})` : ''}`;
}

/**
 * The WIT `check-result` of what a check returned: an {@link Output} or a
 * `{ partials, metrics }` object.
 */
function toCheckResult(value) {
  if (value instanceof Output) {
    return value.toResult();
  }
  if (value && Array.isArray(value.partials)) {
    return { partials: value.partials, metrics: value.metrics ?? [] };
  }
  throw new TypeError('check must return an Output or { partials, metrics }');
}

/** Runs `fn` and returns the WIT result: `{ tag: 'ok', val }` or `{ tag: 'err', val }`. */
async function settle(fn, convert) {
  try {
    return { tag: 'ok', val: convert(await fn()) };
  } catch (e) {
    if (isCheckError(e)) {
      return { tag: 'err', val: e.payload };
    }
    return { tag: 'err', val: { tag: 'failed', val: describeException(e) } };
  }
}

/**
 * Wraps a check's functions as the three exports of world `check`:
 *
 * - `describe()` returns the check-info (see `paramInfo`, `manpage`);
 * - `discover(request)` returns a list of items `{ name, params }` (default:
 *   none);
 * - `check(request)` returns an {@link Output} or `{ partials, metrics }`,
 *   and may be `async` (await `fetch` in it).
 *
 * A {@link CheckError} thrown by `discover` or `check` becomes the contract's
 * `check-error`; any other exception becomes `failed` with the text
 * `Check raised TypeError: ... (at file:line:col)`, so that the host reports
 * UNKNOWN with that message instead of a trap.
 *
 * The check's entry module exports the three:
 *
 * @example
 * export const { describe, discover, check } = defineCheck({ describe() {...}, async check(req) {...} });
 *
 * @param {{ describe: () => object, discover?: (request: object) => object[], check: (request: object) => unknown }} impl
 * @returns {{ describe: () => object, discover: (request: object) => Promise<object>, check: (request: object) => Promise<object> }}
 */
export function defineCheck(impl) {
  if (typeof impl?.describe !== 'function' || typeof impl?.check !== 'function') {
    throw new TypeError('defineCheck: describe and check must be functions');
  }
  const discover = impl.discover ?? (() => []);
  return {
    describe: () => impl.describe(),
    discover: (request) =>
      settle(
        () => discover(request),
        (items) => items,
      ),
    check: (request) => settle(() => impl.check(request), toCheckResult),
  };
}

/**
 * A check request as the host builds it, for a check's native unit tests:
 * `checkRequest({ address: '127.0.0.1', params: { port: '8080' } })`.
 *
 * @param {object} [options]
 * @param {string} [options.name] the target's name (default: the address)
 * @param {string} [options.address] the target's address
 * @param {Record<string, string> | [string, string][]} [options.params]
 * @param {string} [options.item]
 * @param {number} [options.timeoutMs] default 10000
 */
export function checkRequest({ name, address = '', params = {}, item, timeoutMs = 10_000 } = {}) {
  const pairs = Array.isArray(params) ? params : Object.entries(params);
  return {
    target: { name: name ?? address, address },
    item,
    params: pairs.map(([n, v]) => ({ name: n, value: String(v) })),
    timeoutMs,
  };
}
