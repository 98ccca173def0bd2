/**
 * Reading check parameters with errors that name the parameter, what was
 * expected and what was given. Every error is a {@link CheckError} of kind
 * 'bad-params', which the host reports as UNKNOWN with its message.
 *
 * @example
 * const p = new Params(request.params);
 * p.rejectUnknown(['port', 'timeout']);
 * const port = p.integer('port', 443, { min: 1, max: 65535 });
 * // parameter 'port': expected an integer from 1 to 65535, got '0'
 *
 * @module params
 */

import { CheckError, badParam, invalidParam } from './errors.js';
import { Levels } from './levels.js';
import { formatNumber, parseInteger, parseNumber } from './number.js';
import { Range, Thresholds } from './range.js';
import * as render from './render.js';
import { STATE_SYNTAX, parseState } from './state.js';

/**
 * A parameter as the WIT record `param`.
 *
 * @typedef {{ name: string, value: string }} Param
 */

/** What a duration looks like, for error messages. */
const DURATION_SYNTAX = 'a duration such as 10s, 500ms, 2m or 1.5 (seconds)';

/**
 * The parameters of one request. A later duplicate overrides an earlier one.
 */
export class Params {
  /**
   * @param {Param[]} list the request's `params`
   */
  constructor(list = []) {
    /** @type {Param[]} */
    this.list = list;
  }

  /**
   * The raw value of parameter `name` (the last one wins when given twice),
   * or undefined.
   *
   * @param {string} name
   * @returns {string | undefined}
   */
  get(name) {
    for (let i = this.list.length - 1; i >= 0; i -= 1) {
      if (this.list[i].name === name) {
        return this.list[i].value;
      }
    }
    return undefined;
  }

  /** Whether parameter `name` is given. */
  has(name) {
    return this.get(name) !== undefined;
  }

  /** All parameters as [name, value], in the order given, duplicates included. */
  entries() {
    return this.list.map((p) => [p.name, p.value]);
  }

  /**
   * Fails naming the first parameter whose name is not in `known`. Call it
   * first, so that a typo is not silently ignored.
   *
   * @param {string[]} known
   * @throws {CheckError}
   */
  rejectUnknown(known) {
    const bad = this.list.find((p) => !known.includes(p.name));
    if (bad) {
      const list = known.length ? known.join(', ') : 'none';
      throw CheckError.badParams(`unknown parameter '${bad.name}' (this check understands: ${list})`);
    }
  }

  /**
   * The raw value of parameter `name`, which must be given.
   *
   * @param {string} name
   * @returns {string}
   * @throws {CheckError}
   */
  required(name) {
    const raw = this.get(name);
    if (raw === undefined) {
      throw CheckError.badParams(`parameter '${name}' is required`);
    }
    return raw;
  }

  /**
   * A finite number (`nan`, `inf`, `0x10` are refused) within optional
   * bounds, or `fallback` when not given (pass undefined for "no default").
   *
   * @param {string} name
   * @param {number | undefined} fallback
   * @param {{ min?: number, max?: number }} [bounds] inclusive
   * @returns {number | undefined}
   * @throws {CheckError}
   */
  number(name, fallback, bounds = {}) {
    return this.#numeric(name, fallback, bounds, parseNumber, 'a number');
  }

  /**
   * An integer within optional bounds, or `fallback` when not given:
   * `parameter 'port': expected an integer from 1 to 65535, got '0'`.
   *
   * @param {string} name
   * @param {number | undefined} fallback
   * @param {{ min?: number, max?: number }} [bounds] inclusive
   * @returns {number | undefined}
   * @throws {CheckError}
   */
  integer(name, fallback, bounds = {}) {
    return this.#numeric(name, fallback, bounds, parseInteger, 'an integer');
  }

  #numeric(name, fallback, { min, max }, parse, kind) {
    const raw = this.get(name);
    if (raw === undefined) {
      return fallback;
    }
    let expected = kind;
    if (min !== undefined && max !== undefined) {
      expected += ` from ${formatNumber(min)} to ${formatNumber(max)}`;
    } else if (min !== undefined) {
      expected += ` of at least ${formatNumber(min)}`;
    } else if (max !== undefined) {
      expected += ` of at most ${formatNumber(max)}`;
    }
    const value = parse(raw.trim());
    if (value === undefined || (min !== undefined && value < min) || (max !== undefined && value > max)) {
      throw badParam(name, expected, raw);
    }
    return value;
  }

  /**
   * A boolean: `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`
   * (case-insensitive), or `fallback`.
   *
   * @param {string} name
   * @param {boolean} fallback
   * @returns {boolean}
   * @throws {CheckError}
   */
  bool(name, fallback) {
    const raw = this.get(name);
    if (raw === undefined) {
      return fallback;
    }
    const t = raw.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(t)) return true;
    if (['false', 'no', 'off', '0'].includes(t)) return false;
    throw badParam(name, 'true or false (also yes/no, on/off, 1/0)', raw);
  }

  /**
   * One of `choices` (compared case-insensitively, returned as listed), or
   * `fallback`: `parameter 'scheme': expected one of http, https, got 'ftp'`.
   *
   * @param {string} name
   * @param {string | undefined} fallback
   * @param {string[]} choices
   * @returns {string | undefined}
   * @throws {CheckError}
   */
  choice(name, fallback, choices) {
    const raw = this.get(name);
    if (raw === undefined) {
      return fallback;
    }
    const wanted = raw.trim().toLowerCase();
    const found = choices.find((c) => c.toLowerCase() === wanted);
    if (found === undefined) {
      throw badParam(name, `one of ${choices.join(', ')}`, raw);
    }
    return found;
  }

  /**
   * A state name (see {@link parseState}), or `fallback`.
   *
   * @param {string} name
   * @param {string} fallback a {@link State}
   * @returns {string}
   * @throws {CheckError}
   */
  state(name, fallback) {
    const raw = this.get(name);
    if (raw === undefined) {
      return fallback;
    }
    const state = parseState(raw);
    if (state === undefined) {
      throw badParam(name, STATE_SYNTAX, raw);
    }
    return state;
  }

  /**
   * A duration in seconds: a number with unit `ms`, `us`, `s`, `m` (or
   * `min`) or `h`, or a plain number of seconds (`10s`, `500ms`, `2m`,
   * `1.5`); or `fallback` (seconds).
   *
   * @param {string} name
   * @param {number | undefined} fallback seconds
   * @returns {number | undefined} seconds
   * @throws {CheckError}
   */
  duration(name, fallback) {
    const raw = this.get(name);
    if (raw === undefined) {
      return fallback;
    }
    const seconds = parseDuration(raw);
    if (seconds === undefined) {
      throw badParam(name, DURATION_SYNTAX, raw);
    }
    return seconds;
  }

  /**
   * A threshold range in the plugin syntax (`10`, `10:`, `~:10`, `10:20`,
   * `@10:20`), or null when not given.
   *
   * @param {string} name
   * @returns {Range | null}
   * @throws {CheckError}
   */
  range(name) {
    const raw = this.get(name);
    if (raw === undefined) {
      return null;
    }
    try {
      return Range.parse(raw);
    } catch (e) {
      throw invalidParam(name, e.message);
    }
  }

  /**
   * Warning and critical ranges from two parameters (`-w`/`-c` style).
   *
   * @param {string} warnName
   * @param {string} critName
   * @returns {Thresholds}
   * @throws {CheckError}
   */
  thresholds(warnName, critName) {
    return new Thresholds(this.range(warnName), this.range(critName));
  }

  /**
   * Upper {@link Levels} (alert at or above) from two number parameters. A
   * parameter not given takes its half of `fallback` (`[warn, crit]`); with
   * no fallback, both must be given together, and none given means no
   * levels.
   *
   * @param {string} warnName
   * @param {string} critName
   * @param {[number, number] | null} [fallback]
   * @returns {Levels}
   * @throws {CheckError}
   */
  levelsUpper(warnName, critName, fallback = null) {
    const pair = this.#levelPair(warnName, critName, fallback);
    return pair ? Levels.upper(...pair) : Levels.none();
  }

  /**
   * Lower {@link Levels} (alert below) from two number parameters, with the
   * same rules as {@link Params#levelsUpper}.
   *
   * @param {string} warnName
   * @param {string} critName
   * @param {[number, number] | null} [fallback]
   * @returns {Levels}
   * @throws {CheckError}
   */
  levelsLower(warnName, critName, fallback = null) {
    const pair = this.#levelPair(warnName, critName, fallback);
    return pair ? Levels.lower(...pair) : Levels.none();
  }

  #levelPair(warnName, critName, fallback) {
    const warn = this.number(warnName, undefined);
    const crit = this.number(critName, undefined);
    const missing = (given, absent) =>
      CheckError.badParams(`parameter '${given}' is given without '${absent}': give both or neither`);
    if (warn !== undefined && crit !== undefined) return [warn, crit];
    if (warn !== undefined) {
      if (!fallback) throw missing(warnName, critName);
      return [warn, fallback[1]];
    }
    if (crit !== undefined) {
      if (!fallback) throw missing(critName, warnName);
      return [fallback[0], crit];
    }
    return fallback ?? null;
  }

  /**
   * A percentage (`20%`, 0 to 100) or a size with unit (`10GiB`, see
   * {@link parseBytes}), or null when not given.
   *
   * @param {string} name
   * @returns {{ percent: number } | { bytes: number } | null}
   * @throws {CheckError}
   */
  amount(name) {
    const raw = this.get(name);
    if (raw === undefined) {
      return null;
    }
    const t = raw.trim();
    if (t.endsWith('%')) {
      const p = parseNumber(t.slice(0, -1).trim());
      if (p !== undefined && p >= 0 && p <= 100) {
        return { percent: p };
      }
    } else {
      const b = parseBytes(t);
      if (b !== undefined) {
        return { bytes: b };
      }
    }
    throw badParam(
      name,
      'a percentage from 0% to 100% or a size such as 500MiB or 10GiB (units B, KiB, MiB, GiB, TiB)',
      raw,
    );
  }
}

/**
 * Renders an {@link Params#amount}: `20%` or the size in binary units.
 *
 * @param {{ percent: number } | { bytes: number }} amount
 * @returns {string}
 */
export function renderAmount(amount) {
  return 'percent' in amount ? render.percent(amount.percent) : render.bytes(amount.bytes);
}

/**
 * Parses a size with a unit: `B`, `K`/`KB`/`KiB`, `M`/`MB`/`MiB`,
 * `G`/`GB`/`GiB`, `T`/`TB`/`TiB` (case-insensitive, a blank before the unit
 * allowed). Every unit is a power of 1024. A plain number without unit is
 * refused, to avoid guessing.
 *
 * @param {string} text
 * @returns {number | undefined} bytes
 */
export function parseBytes(text) {
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (!m) {
    return undefined;
  }
  const power = {
    b: 0, k: 1, kb: 1, kib: 1, m: 2, mb: 2, mib: 2, g: 3, gb: 3, gib: 3, t: 4, tb: 4, tib: 4,
  }[m[2].toLowerCase()];
  return power === undefined ? undefined : Number(m[1]) * 1024 ** power;
}

/**
 * Parses `10s`, `500ms`, `250us`, `2m`, `2min`, `1h`, `1.5` (seconds); not
 * negative.
 *
 * @param {string} text
 * @returns {number | undefined} seconds
 */
export function parseDuration(text) {
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-zµ]*)$/.exec(String(text).trim());
  if (!m) {
    return undefined;
  }
  const factor = { '': 1, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, m: 60, min: 60, h: 3600 }[m[2]];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/**
 * The time a check may spend on its own I/O, in seconds: parameter
 * `timeout` (default `fallback` seconds), but never more than 90% of the
 * wall time the host gives this run (`request.timeoutMs`), so that the check
 * reports its own timeout ("Socket timeout after 9 seconds") before the
 * host cuts it off. A zero or malformed `timeout` is a bad-params error.
 * Document it with {@link timeoutParam}.
 *
 * @param {{ params: Param[], timeoutMs: number }} request
 * @param {number} fallback seconds
 * @returns {number} seconds
 * @throws {CheckError}
 */
export function ioTimeout(request, fallback) {
  const params = new Params(request.params);
  const wanted = params.duration('timeout', fallback);
  if (!(wanted > 0)) {
    throw badParam('timeout', 'a duration of more than 0 seconds', params.get('timeout') ?? String(wanted));
  }
  if (!request.timeoutMs) {
    return wanted;
  }
  const budget = Math.max(Math.floor((request.timeoutMs * 9) / 10), 1) / 1000;
  return Math.min(wanted, budget);
}

/**
 * The item to check, or a bad-params error when the service has none (for
 * checks that always need an item).
 *
 * @param {{ item?: string }} request
 * @returns {string}
 * @throws {CheckError}
 */
export function requiredItem(request) {
  if (request.item === undefined || request.item === null) {
    throw CheckError.badParams('this check needs an item, but none was given');
  }
  return request.item;
}
