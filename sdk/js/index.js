/**
 * Write wasmon monitoring checks in JavaScript.
 *
 * A check is an ES module built into a WebAssembly component with
 * componentize-js (`checks/js/build.sh`). It exports the three functions of
 * world `check` of `wit/check.wit`, best through {@link defineCheck}:
 *
 * @example
 * import { defineCheck, paramInfo, manpage, Params, Output, Metric, render } from '../../../sdk/js/index.js';
 *
 * export const { describe, discover, check } = defineCheck({
 *   describe: () => ({ name: 'example', version: '0.1.0', title: 'Example: a number',
 *     manpage: manpage('Reports a number. OK below the levels, WARN or CRIT at or above them.'),
 *     params: [paramInfo('warning', 'Level for WARN.'), paramInfo('critical', 'Level for CRIT.')] }),
 *   check(request) {
 *     const p = new Params(request.params);
 *     p.rejectUnknown(['warning', 'critical']);
 *     const levels = p.levelsUpper('warning', 'critical');
 *     const out = new Output();
 *     out.push(levels.check(42, 'Answer'));
 *     return out.metric(Metric.number('answer', 42).withLevels(levels));
 *   },
 * });
 *
 * This module is pure JavaScript and also runs under Node.js, so a check's
 * logic can be unit-tested with `node --test`. The host's imports (value
 * store, log, system facts) are in `host.js`.
 *
 * @module wasmon
 */

export { defineCheck, checkRequest, describeException } from './check.js';
export { CheckError, badParam, invalidParam } from './errors.js';
export { paramInfo, responseTimeLevels, timeoutParam, manpage } from './info.js';
export { Levels, checkLevels } from './levels.js';
export { Metric, UNITS, isValidLabel } from './metric.js';
export { formatNumber, parseNumber, parseInteger } from './number.js';
export { Output } from './output.js';
export { Params, ioTimeout, requiredItem, parseBytes, parseDuration, renderAmount } from './params.js';
export { partial } from './partial.js';
export { Range, Thresholds, RangeSyntaxError, RANGE_SYNTAX } from './range.js';
export * as render from './render.js';
export { State, BY_SEVERITY, severity, worst, exitCode, stateName, parseState } from './state.js';
export { encodeNumbers, decodeNumbers, Overflow, computeRate, computeRateWith, computeAverage } from './store.js';
