/**
 * Performance data in canonical units, shaped like the WIT record `metric`.
 *
 * @module metric
 */

import { Range } from './range.js';

/** The units of measurement the WIT contract allows. */
export const UNITS = Object.freeze(['', 's', '%', 'B', 'c']);

/**
 * Whether `label` is a valid metric name: lower case ASCII letters, digits
 * and underscores, not empty and not starting with a digit (Checkmk
 * guideline 6.2).
 *
 * @param {string} label
 * @returns {boolean}
 */
export function isValidLabel(label) {
  return typeof label === 'string' && /^[a-z_][a-z0-9_]*$/.test(label);
}

/**
 * One performance data point: `'label'=value[uom];[warn];[crit];[min];[max]`.
 * Build it with a constructor in canonical units ({@link Metric.seconds},
 * {@link Metric.bytes}, ...) and chain the setters:
 *
 * @example
 * Metric.seconds('response_time', 0.012).withLevels(Levels.upper(1, 2)).max(10)
 */
export class Metric {
  /**
   * A metric without thresholds or bounds.
   *
   * @param {string} label lower case letters, digits and underscores
   * @param {number} value in the canonical unit of `uom`
   * @param {string} uom "", "s", "%", "B" or "c"
   * @throws {TypeError} on a bad label, unit or value type: a bug in the check
   */
  constructor(label, value, uom) {
    if (!isValidLabel(label)) {
      throw new TypeError(
        `metric label ${JSON.stringify(label)}: use lower case letters, digits and underscores, not starting with a digit`,
      );
    }
    if (!UNITS.includes(uom)) {
      throw new TypeError(`metric ${JSON.stringify(label)}: unit ${JSON.stringify(uom)} is not one of "", s, %, B, c`);
    }
    if (typeof value !== 'number') {
      throw new TypeError(`metric ${JSON.stringify(label)}: the value must be a number, not ${typeof value}`);
    }
    /** @type {string} */
    this.label = label;
    /** @type {number} */
    this.value = value;
    /** @type {string} */
    this.uom = uom;
    /** @type {Range | null} */
    this.warn = null;
    /** @type {Range | null} */
    this.crit = null;
    /** @type {number | null} */
    this.min = null;
    /** @type {number | null} */
    this.max = null;
  }

  /** A duration in seconds (unit "s"), minimum 0. */
  static seconds(label, seconds) {
    return new Metric(label, seconds, 's').setMin(0);
  }

  /** A size in bytes (unit "B"), minimum 0. */
  static bytes(label, bytes) {
    return new Metric(label, bytes, 'B').setMin(0);
  }

  /** A percentage from 0 to 100 (unit "%"), minimum 0, maximum 100. */
  static percent(label, percent) {
    return new Metric(label, percent, '%').setMin(0).setMax(100);
  }

  /** A rate per second, a plain number (unit ""), minimum 0. */
  static perSecond(label, rate) {
    return new Metric(label, rate, '').setMin(0);
  }

  /** A count of things, a plain number (unit ""), minimum 0. */
  static count(label, count) {
    return new Metric(label, count, '').setMin(0);
  }

  /** A plain number without unit or bounds (a load average, a ratio). */
  static number(label, value) {
    return new Metric(label, value, '');
  }

  /** A continuous counter (unit "c") such as bytes sent since boot, minimum 0. */
  static counter(label, value) {
    return new Metric(label, value, 'c').setMin(0);
  }

  /**
   * Sets the warning range.
   *
   * @param {Range | null} range
   * @returns {Metric} this
   */
  setWarn(range) {
    this.warn = range;
    return this;
  }

  /**
   * Sets the critical range.
   *
   * @param {Range | null} range
   * @returns {Metric} this
   */
  setCrit(range) {
    this.crit = range;
    return this;
  }

  /**
   * Sets the warning and critical ranges from {@link Thresholds}.
   *
   * @param {import('./range.js').Thresholds} thresholds
   * @returns {Metric} this
   */
  withThresholds(thresholds) {
    this.warn = thresholds.warn;
    this.crit = thresholds.crit;
    return this;
  }

  /**
   * Sets the ranges from Checkmk-style {@link Levels} the way Checkmk
   * writes them into perfdata: upper levels as `W` and `C`
   * ({@link Range.upper}), lower levels as `W:` and `C:`
   * ({@link Range.lower}). With both, the upper levels are written; no
   * levels clear the ranges.
   *
   * @param {import('./levels.js').Levels} levels
   * @returns {Metric} this
   */
  withLevels(levels) {
    if (levels.upper) {
      this.warn = Range.upper(levels.upper[0]);
      this.crit = Range.upper(levels.upper[1]);
    } else if (levels.lower) {
      this.warn = Range.lower(levels.lower[0]);
      this.crit = Range.lower(levels.lower[1]);
    } else {
      this.warn = null;
      this.crit = null;
    }
    return this;
  }

  /**
   * Sets the smallest possible value.
   *
   * @param {number | null} min
   * @returns {Metric} this
   */
  setMin(min) {
    this.min = min;
    return this;
  }

  /**
   * Sets the largest possible value.
   *
   * @param {number | null} max
   * @returns {Metric} this
   */
  setMax(max) {
    this.max = max;
    return this;
  }
}
