/**
 * Checkmk-style levels: a warning and a critical value that the measured
 * value is compared with using `>=` (upper levels) or `<` (lower levels),
 * and {@link checkLevels}, which renders the judged value as a partial
 * result with the text "(warn/crit at W/C)".
 *
 * @module levels
 */

import { formatNumber } from './number.js';
import { partial } from './partial.js';
import { State } from './state.js';

/**
 * Upper and/or lower warning and critical levels (Checkmk guideline 5.4).
 *
 * Upper levels alert when the value is *at or above* the level: with upper
 * levels 80/90, the value 90 is already CRITICAL. Lower levels alert when the
 * value is *below* the level, as Checkmk's `check_levels` does: with lower
 * levels 10/5, the value 5 is WARNING and 4.9 is CRITICAL.
 */
export class Levels {
  /**
   * @param {[number, number] | null} [upper] (warning, critical): alert at or above
   * @param {[number, number] | null} [lower] (warning, critical): alert below
   */
  constructor(upper = null, lower = null) {
    /** @type {[number, number] | null} */
    this.upper = upper ?? null;
    /** @type {[number, number] | null} */
    this.lower = lower ?? null;
  }

  /** No levels: every value is OK. */
  static none() {
    return new Levels();
  }

  /**
   * Upper levels: WARNING at or above `warn`, CRITICAL at or above `crit`.
   *
   * @param {number} warn
   * @param {number} crit
   */
  static upper(warn, crit) {
    return new Levels([warn, crit], null);
  }

  /**
   * Lower levels: WARNING below `warn`, CRITICAL below `crit`.
   *
   * @param {number} warn
   * @param {number} crit
   */
  static lower(warn, crit) {
    return new Levels(null, [warn, crit]);
  }

  /**
   * Both upper `[warn, crit]` and lower `[warn, crit]` levels.
   *
   * @param {[number, number]} upper
   * @param {[number, number]} lower
   */
  static both(upper, lower) {
    return new Levels(upper, lower);
  }

  /** Whether there are no levels at all. */
  isNone() {
    return this.upper === null && this.lower === null;
  }

  /**
   * The state of `value`; critical levels are checked before warning ones.
   *
   * @param {number} value
   * @returns {string} a {@link State}
   */
  evaluate(value) {
    return this.#judge(value).state;
  }

  /** The state and which side raised it. */
  #judge(value) {
    if (this.upper) {
      const [warn, crit] = this.upper;
      if (value >= crit) return { state: State.CRITICAL, side: 'upper' };
      if (value >= warn) return { state: State.WARNING, side: 'upper' };
    }
    if (this.lower) {
      const [warn, crit] = this.lower;
      if (value < crit) return { state: State.CRITICAL, side: 'lower' };
      if (value < warn) return { state: State.WARNING, side: 'lower' };
    }
    return { state: State.OK, side: null };
  }

  /**
   * Compares `value` with these levels and renders one partial result;
   * see {@link checkLevels}.
   *
   * @param {number} value
   * @param {string} label
   * @param {(value: number) => string} [render]
   */
  check(value, label, render = formatNumber) {
    const { state, side } = this.#judge(value);
    let summary = `${label}: ${render(value)}`;
    if (side === 'upper') {
      summary += ` (warn/crit at ${render(this.upper[0])}/${render(this.upper[1])})`;
    } else if (side === 'lower') {
      summary += ` (warn/crit below ${render(this.lower[0])}/${render(this.lower[1])})`;
    }
    return partial(state, summary);
  }
}

/**
 * Compares `value` with `levels` and renders one partial result.
 *
 * The summary is `"LABEL: render(value)"`; when the state is not OK it is
 * followed by ` (warn/crit at W/C)` for upper levels or
 * ` (warn/crit below W/C)` for lower levels, the levels rendered with the
 * same `render` function (default: the plain number).
 *
 * @example
 * checkLevels(85.25, Levels.upper(80, 90), 'Usage', render.percent)
 * // { state: 'warning', summary: 'Usage: 85.25% (warn/crit at 80%/90%)' }
 *
 * @param {number} value
 * @param {Levels} levels
 * @param {string} label
 * @param {(value: number) => string} [render]
 * @returns {import('./partial.js').PartialResult}
 */
export function checkLevels(value, levels, label, render = formatNumber) {
  return levels.check(value, label, render);
}
