/**
 * Collecting partial results and metrics for one run, and the WIT record
 * `check-result` built from them.
 *
 * @module output
 */

import { Levels } from './levels.js';
import { Metric } from './metric.js';
import { partial } from './partial.js';
import * as render from './render.js';
import { State, worst } from './state.js';

/**
 * Collects partial results and metrics for one check run. `check` may
 * return an Output; {@link defineCheck} turns it into the WIT result.
 *
 * @example
 * const out = new Output();
 * out.ok('Response time: 12 ms').metric(Metric.seconds('response_time', 0.012));
 * out.warn('Certificate: expires in 10 days').details('Issuer: Example CA');
 * out.state();   // 'warning'
 * out.summary(); // 'Response time: 12 ms, Certificate: expires in 10 days'
 */
export class Output {
  constructor() {
    /** @type {import('./partial.js').PartialResult[]} */
    this.partials = [];
    /** @type {Metric[]} */
    this.metrics = [];
  }

  /**
   * Appends a partial result (from {@link partial} or {@link checkLevels}).
   *
   * @param {import('./partial.js').PartialResult} result
   * @returns {Output} this
   */
  push(result) {
    this.partials.push(partial(result.state, result.summary, result.details));
    return this;
  }

  /**
   * Appends a partial result with `state` and `summary`.
   *
   * @param {string} state
   * @param {string} summary
   * @returns {Output} this
   */
  partial(state, summary) {
    return this.push(partial(state, summary));
  }

  /** Appends an OK partial result. */
  ok(summary) {
    return this.partial(State.OK, summary);
  }

  /** Appends a WARNING partial result. */
  warn(summary) {
    return this.partial(State.WARNING, summary);
  }

  /** Appends a CRITICAL partial result. */
  crit(summary) {
    return this.partial(State.CRITICAL, summary);
  }

  /** Appends an UNKNOWN partial result. */
  unknown(summary) {
    return this.partial(State.UNKNOWN, summary);
  }

  /**
   * Adds lines of details (long output) to the last partial result; if it
   * already has details, the new text goes on a new line.
   *
   * @param {string} text
   * @returns {Output} this
   * @throws {Error} when there is no partial result yet
   */
  details(text) {
    const last = this.partials.at(-1);
    if (!last) {
      throw new Error('Output.details called before any partial result');
    }
    last.details = last.details === undefined ? String(text) : `${last.details}\n${text}`;
    return this;
  }

  /**
   * Appends a network check's response time: the partial result
   * `Response time: 12 ms` judged against the upper `levels` and the metric
   * `response_time` in seconds, from 0 to the check's `timeout` (seconds).
   *
   * @param {number} elapsed seconds
   * @param {Levels} levels
   * @param {number} timeout seconds
   * @returns {Output} this
   */
  responseTime(elapsed, levels, timeout) {
    this.push(levels.check(elapsed, 'Response time', render.seconds));
    return this.metric(Metric.seconds('response_time', elapsed).withLevels(levels).setMin(0).setMax(timeout));
  }

  /**
   * Appends a metric.
   *
   * @param {Metric} metric
   * @returns {Output} this
   */
  metric(metric) {
    if (!(metric instanceof Metric)) {
      throw new TypeError('Output.metric: expected a Metric');
    }
    this.metrics.push(metric);
    return this;
  }

  /** The worst state of the partial results so far (OK when there are none). */
  state() {
    return worst(...this.partials.map((p) => p.state));
  }

  /** The partial summaries joined with ", ", as the host will show them. */
  summary() {
    return this.partials.map((p) => p.summary).join(', ');
  }

  /**
   * The WIT record `check-result`: `{ partials, metrics }`.
   *
   * @returns {{ partials: object[], metrics: Metric[] }}
   */
  toResult() {
    return { partials: this.partials, metrics: this.metrics };
  }
}
