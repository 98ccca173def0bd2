/**
 * The WIT record `partial-result`.
 *
 * @module partial
 */

import { assertState } from './state.js';

/**
 * One part of a check's verdict, shaped like the WIT record
 * `partial-result`: `{ state, summary, details }`.
 *
 * @typedef {object} PartialResult
 * @property {string} state a {@link State}
 * @property {string} summary one line, e.g. `Response time: 12 ms`
 * @property {string | undefined} details further lines (long output), if any
 */

/**
 * A partial result with a state, a one-line summary and optional details.
 *
 * @param {string} state a {@link State}
 * @param {string} summary
 * @param {string} [details]
 * @returns {PartialResult}
 */
export function partial(state, summary, details) {
  return { state: assertState(state), summary: String(summary), details: details ?? undefined };
}
