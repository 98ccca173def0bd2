/**
 * Builders for a check's self-description: the WIT records `check-info`,
 * `manpage` and `param-info`. `wasmon describe` checks the result against the
 * contract's completeness and output rules.
 *
 * @module info
 */

import { formatNumber } from './number.js';

/**
 * Documentation of one parameter, shaped like the WIT record `param-info`.
 *
 * @param {string} name lower case letters, digits and underscores
 * @param {string} description what it means and the syntax of its value
 * @param {{ default?: string, source?: string }} [options] the value used
 *   when the parameter is not given, and where that default comes from
 *   (required for default thresholds, Checkmk guideline 5.6)
 * @returns {{ name: string, description: string, defaultValue: string | undefined, defaultSource: string | undefined }}
 */
export function paramInfo(name, description, options = {}) {
  return {
    name,
    description,
    defaultValue: options.default,
    defaultSource: options.source,
  };
}

/**
 * The two parameters of a network check's response time levels (read with
 * `Params.levelsUpper`, shown with `Output.responseTime`), with no default
 * and `source` saying why. The names default to `warning` and `critical`.
 *
 * @param {string} source
 * @param {[string, string]} [names]
 * @returns {ReturnType<typeof paramInfo>[]}
 */
export function responseTimeLevels(source, names = ['warning', 'critical']) {
  return [
    [names[0], 'WARN'],
    [names[1], 'CRIT'],
  ].map(([name, state]) =>
    paramInfo(name, `Response time in seconds at or above which the check is ${state}.`, { source }),
  );
}

/**
 * The standard `timeout` parameter of a check that waits on I/O, read with
 * `ioTimeout`: "Time allowed `what`, as seconds ('10', '2.5') or with a unit
 * ...".
 *
 * @param {string} what what the time covers ("for the whole request")
 * @param {number} fallback the default passed to `ioTimeout`, in seconds
 * @param {string} source where the default comes from
 */
export function timeoutParam(what, fallback, source) {
  return paramInfo(
    'timeout',
    `Time allowed ${what}, as seconds ('10', '2.5') or with a unit ('10s', '500ms'). ` +
      'Never more than 90% of the wall time the host gives the run (`wasmon check -t`), ' +
      'so that the check reports its own timeout first.',
    { default: `${formatNumber(fallback)}s`, source },
  );
}

/**
 * The check's manpage (Checkmk guideline 9).
 *
 * @param {string} description what is monitored, and when it is OK, WARN or CRIT
 * @param {{ item?: string, discovery?: string }} [options] how the item is
 *   formed and when discovery finds services, for checks with items
 */
export function manpage(description, options = {}) {
  return { description, item: options.item, discovery: options.discovery };
}
