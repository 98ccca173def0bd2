/**
 * States of a partial result or a service, as the WIT enum `state` spells
 * them, and helpers for their severity order, names and exit codes.
 *
 * @module state
 */

/**
 * The four states, as the strings the component bindings expect.
 *
 * @readonly
 * @enum {string}
 */
export const State = Object.freeze({
  /** Exit code 0: the service works as it should. */
  OK: 'ok',
  /** Exit code 1: above a warning threshold, or otherwise not quite right. */
  WARNING: 'warning',
  /** Exit code 2: above a critical threshold, or not working. */
  CRITICAL: 'critical',
  /** Exit code 3: the state could not be determined. */
  UNKNOWN: 'unknown',
});

/** Every state from best to worst: OK < WARNING < UNKNOWN < CRITICAL. */
export const BY_SEVERITY = Object.freeze([State.OK, State.WARNING, State.UNKNOWN, State.CRITICAL]);

const ALL = new Set(Object.values(State));

/**
 * Throws a TypeError unless `state` is one of {@link State}.
 *
 * @param {string} state
 * @returns {string} the state
 */
export function assertState(state) {
  if (!ALL.has(state)) {
    throw new TypeError(`not a state: ${JSON.stringify(state)} (use State.OK, State.WARNING, State.CRITICAL or State.UNKNOWN)`);
  }
  return state;
}

/**
 * The rank of `state` in the order OK < WARNING < UNKNOWN < CRITICAL (0-3).
 *
 * @param {string} state
 * @returns {number}
 */
export function severity(state) {
  return BY_SEVERITY.indexOf(assertState(state));
}

/**
 * The worst of the given states in the order OK < WARNING < UNKNOWN <
 * CRITICAL; OK for none.
 *
 * @param {...string} states
 * @returns {string}
 */
export function worst(...states) {
  return states.reduce((a, b) => (severity(b) > severity(a) ? b : a), State.OK);
}

/**
 * The Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 *
 * @param {string} state
 * @returns {number}
 */
export function exitCode(state) {
  return { ok: 0, warning: 1, critical: 2, unknown: 3 }[assertState(state)];
}

/**
 * The upper-case name used in plugin output: "OK", "WARNING", "CRITICAL" or
 * "UNKNOWN".
 *
 * @param {string} state
 * @returns {string}
 */
export function stateName(state) {
  return assertState(state).toUpperCase();
}

const STATE_NAMES = new Map([
  ['OK', State.OK], ['0', State.OK],
  ['WARNING', State.WARNING], ['WARN', State.WARNING], ['1', State.WARNING],
  ['CRITICAL', State.CRITICAL], ['CRIT', State.CRITICAL], ['2', State.CRITICAL],
  ['UNKNOWN', State.UNKNOWN], ['3', State.UNKNOWN],
]);

/** What {@link parseState} accepts, for error messages. */
export const STATE_SYNTAX = 'a state (OK, WARNING, CRITICAL, UNKNOWN, WARN, CRIT or 0-3)';

/**
 * Parses a state name, case-insensitively: `OK`, `WARNING` (or `WARN`),
 * `CRITICAL` (or `CRIT`), `UNKNOWN`, or the exit codes `0`-`3`; blanks around
 * it are ignored. Returns `undefined` for anything else.
 *
 * @param {string} text
 * @returns {string | undefined}
 */
export function parseState(text) {
  return STATE_NAMES.get(String(text).trim().toUpperCase());
}
