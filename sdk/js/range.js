/**
 * Threshold ranges in the Monitoring Plugins syntax, and {@link Thresholds}.
 *
 * A range is written `10` (same as `0:10`), `10:` (10 to infinity), `~:10`
 * (negative infinity to 10), `10:20`, and with a leading `@` (`@10:20`) to
 * alert *inside* the range instead of outside it. Both ends are inclusive:
 * with `10`, the value 10 is fine and 10.5 alerts; with `@10:20`, 10 and 20
 * alert.
 *
 * @module range
 */

import { formatNumber, parseNumber } from './number.js';
import { State } from './state.js';

/** What a range looks like, for error messages. */
export const RANGE_SYNTAX = 'N, N:, ~:N, N:M or @N:M';

/**
 * Why a text is not a valid range; the message names the text and what was
 * expected: `invalid range '20:10': start 20 is greater than end 10; expected
 * N, N:, ~:N, N:M or @N:M`.
 */
export class RangeSyntaxError extends Error {
  /**
   * @param {string} text the text that failed to parse
   * @param {string} reason what is wrong with it
   */
  constructor(text, reason) {
    super(`invalid range '${text}': ${reason}; expected ${RANGE_SYNTAX}`);
    this.name = 'RangeSyntaxError';
    /** The text that failed to parse. */
    this.text = text;
  }
}

/** One end of a range: a finite decimal number. */
function parseEnd(whole, part) {
  const value = parseNumber(part);
  if (value === undefined) {
    throw new RangeSyntaxError(whole, `'${part}' is not a number`);
  }
  return value;
}

/**
 * A threshold range, shaped like the WIT record `range`: `start` and `end`
 * are numbers or `null` for negative and positive infinity; `inside` means
 * the range alerts for values inside it.
 */
export class Range {
  /**
   * @param {number | null} start lower end, null for negative infinity
   * @param {number | null} end upper end, null for positive infinity
   * @param {boolean} [inside] alert inside the range instead of outside
   */
  constructor(start, end, inside = false) {
    /** @type {number | null} */
    this.start = start ?? null;
    /** @type {number | null} */
    this.end = end ?? null;
    /** @type {boolean} */
    this.inside = Boolean(inside);
  }

  /**
   * Parses the plugin syntax; see the module documentation.
   *
   * @param {string} text
   * @returns {Range}
   * @throws {RangeSyntaxError}
   */
  static parse(text) {
    const s = String(text).trim();
    if (s === '') {
      throw new RangeSyntaxError(text, 'it is empty');
    }
    const inside = s.startsWith('@');
    const body = inside ? s.slice(1) : s;
    if (body === '') {
      throw new RangeSyntaxError(text, "'@' must be followed by a range");
    }
    let start;
    let end;
    const colon = body.indexOf(':');
    if (colon < 0) {
      if (body === '~') {
        throw new RangeSyntaxError(text, "'~' must be followed by ':' and an end");
      }
      start = 0;
      end = parseEnd(text, body);
    } else {
      // Like the Monitoring Plugins, an empty start means 0 (":10" is
      // "0:10") and an empty end means positive infinity.
      const first = body.slice(0, colon);
      const second = body.slice(colon + 1);
      start = first === '~' ? null : first === '' ? 0 : parseEnd(text, first);
      end = second === '' ? null : parseEnd(text, second);
    }
    if (start !== null && end !== null && start > end) {
      throw new RangeSyntaxError(
        text,
        `start ${formatNumber(start)} is greater than end ${formatNumber(end)}`,
      );
    }
    return new Range(start, end, inside);
  }

  /**
   * The range `0:x` (written `x`): alerts above `x` (or below 0). For a
   * negative `x` it is `~:x`, which alerts only above `x`. This is how
   * perfdata writes an upper level; a range does not alert at `x` itself,
   * while Checkmk-style levels do.
   *
   * @param {number} x
   * @returns {Range}
   */
  static upper(x) {
    return new Range(x >= 0 ? 0 : null, x, false);
  }

  /**
   * The range `x:`: alerts below `x`.
   *
   * @param {number} x
   * @returns {Range}
   */
  static lower(x) {
    return new Range(x, null, false);
  }

  /**
   * Whether `value` raises an alert: it lies outside `[start, end]` (both
   * ends inclusive), or inside it for an `@` range.
   *
   * @param {number} value
   * @returns {boolean}
   */
  alerts(value) {
    const below = this.start !== null && value < this.start;
    const above = this.end !== null && value > this.end;
    const outside = below || above;
    return this.inside ? !outside : outside;
  }

  /**
   * The shortest plugin syntax: `10`, `10:`, `~:10`, `10:20`, `@10:20`;
   * {@link Range.parse} reads it back to the same range.
   *
   * @returns {string}
   */
  toString() {
    const at = this.inside ? '@' : '';
    const { start, end } = this;
    if (start === 0 && end !== null) {
      return at + formatNumber(end);
    }
    if (start !== null && end !== null) {
      return `${at}${formatNumber(start)}:${formatNumber(end)}`;
    }
    if (start !== null) {
      return `${at}${formatNumber(start)}:`;
    }
    return end !== null ? `${at}~:${formatNumber(end)}` : `${at}~:`;
  }
}

/** A warning and a critical {@link Range}, as `-w`/`-c` of a Monitoring Plugin. */
export class Thresholds {
  /**
   * @param {Range | null} [warn]
   * @param {Range | null} [crit]
   */
  constructor(warn = null, crit = null) {
    /** @type {Range | null} */
    this.warn = warn ?? null;
    /** @type {Range | null} */
    this.crit = crit ?? null;
  }

  /**
   * Parses two optional range texts (undefined or null for none).
   *
   * @param {string | null | undefined} warn
   * @param {string | null | undefined} crit
   * @returns {Thresholds}
   * @throws {RangeSyntaxError}
   */
  static parse(warn, crit) {
    return new Thresholds(
      warn == null ? null : Range.parse(warn),
      crit == null ? null : Range.parse(crit),
    );
  }

  /**
   * CRITICAL if the critical range alerts, else WARNING if the warning
   * range alerts, else OK.
   *
   * @param {number} value
   * @returns {string} a {@link State}
   */
  evaluate(value) {
    if (this.crit?.alerts(value)) {
      return State.CRITICAL;
    }
    if (this.warn?.alerts(value)) {
      return State.WARNING;
    }
    return State.OK;
  }
}
