import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  BY_SEVERITY, Overflow, State, computeAverage, computeRate, computeRateWith, decodeNumbers, encodeNumbers, exitCode, parseState, severity,
  stateName, worst,
} from '../index.js';

test('severity order is OK < WARNING < UNKNOWN < CRITICAL', () => {
  assert.equal(worst(State.OK, State.WARNING), State.WARNING);
  assert.equal(worst(State.WARNING, State.UNKNOWN), State.UNKNOWN);
  assert.equal(worst(State.UNKNOWN, State.CRITICAL), State.CRITICAL);
  assert.equal(worst(State.CRITICAL, State.UNKNOWN), State.CRITICAL);
  assert.equal(worst(), State.OK);
  assert.deepEqual(BY_SEVERITY.map(severity), [0, 1, 2, 3]);
  assert.throws(() => worst(State.OK, 'bad'), TypeError);
});

test('exit codes and names', () => {
  const all = [State.OK, State.WARNING, State.CRITICAL, State.UNKNOWN];
  assert.deepEqual(all.map(exitCode), [0, 1, 2, 3]);
  assert.deepEqual(all.map(stateName), ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN']);
});

test('parses names, abbreviations and codes', () => {
  for (const [text, state] of [
    ['ok', State.OK], ['OK', State.OK], ['0', State.OK],
    ['Warning', State.WARNING], ['warn', State.WARNING], ['1', State.WARNING],
    ['CRITICAL', State.CRITICAL], ['crit', State.CRITICAL], [' 2 ', State.CRITICAL],
    ['unknown', State.UNKNOWN], ['3', State.UNKNOWN],
  ]) {
    assert.equal(parseState(text), state, text);
  }
  for (const bad of ['', '4', 'okay', 'w', '-1', 'UNKNOWNX']) {
    assert.equal(parseState(bad), undefined, bad);
  }
});

test('numbers encode as little-endian f64s and round-trip', () => {
  const values = [1.5, -0, Number.MAX_VALUE, 1e-300];
  const bytes = encodeNumbers(values);
  assert.equal(bytes.length, 32);
  assert.deepEqual([...encodeNumbers([1])], [0, 0, 0, 0, 0, 0, 0xf0, 0x3f], 'the Rust SDK layout');
  assert.deepEqual(decodeNumbers(bytes), values);
  assert.deepEqual(decodeNumbers(new Uint8Array()), []);
  assert.equal(decodeNumbers(new Uint8Array([1, 2, 3])), undefined);
});

test('rate semantics', () => {
  assert.equal(computeRate(undefined, 100, 10), undefined, 'first sample initialises');
  assert.equal(computeRate([10, 100], 160, 40), 2);
  assert.equal(computeRate([10, 100], 100, 20), 0);
  assert.equal(computeRate([10, 100], 50, 20), undefined, 'wrap or reset');
  assert.equal(computeRate([10, 100], 150, 10), undefined, 'no time passed');
  assert.equal(computeRate([10, 100], 150, 5), undefined, 'clock went back');
});

// The shared test vectors of the four SDKs (Rust, Python, JavaScript, C): the
// same cases and numbers in each.
const { NEGATIVE, RAISE } = Overflow;

/** Rate cases: previous [time, value], value, now, overflow, the rate, why. */
const RATE_CASES = [
  [undefined, 100, 10, NEGATIVE, undefined, 'first sample initialises'],
  [undefined, 100, 10, RAISE, undefined, 'first sample initialises'],
  [[10, 100], 160, 40, NEGATIVE, 2, 'growing'],
  [[10, 100], 160, 40, RAISE, 2, 'growing'],
  [[10, 100], 100, 20, NEGATIVE, 0, 'unchanged'],
  [[10, 100], 100, 20, RAISE, 0, 'unchanged'],
  [[10, 100], 50, 20, NEGATIVE, -5, 'went down: negative rate'],
  [[10, 100], 50, 20, RAISE, undefined, 'went down: wrap or reset'],
  [[10, 100], 150, 10, NEGATIVE, undefined, 'no time passed'],
  [[10, 100], 150, 10, RAISE, undefined, 'no time passed'],
  [[10, 100], 150, 5, NEGATIVE, undefined, 'clock went back'],
  [[10, 100], 150, 5, RAISE, undefined, 'clock went back'],
  [[10, 23], 56, 70, NEGATIVE, 0.55, "Checkmk's get_rate example"],
];

/**
 * Average series: backlog minutes and [time, value, average] in order, each
 * call continuing from the state the previous one returned. The first is
 * Checkmk's test_get_average.
 */
const AVERAGE_SERIES = [
  [1, [[0, 23, 23], [60, 42, 32.5], [120, 42, 37.25], [300, 42, 41.40625]]],
  [5, [
    [0, 10, 10],
    [60, 20, 15],
    [60, 99, 15], // no time passed: the last average
    [30, 99, 15], // clock went back: the last average
    [120, 30, 19.393398282201787],
    [600, 30, 26.501126281736973],
    [660, 0, 23.07057041254784],
  ]],
];

/** Equal up to 1e-12 relative to the expected value (pow may differ in the last bit). */
function close(actual, expected) {
  return Math.abs(actual - expected) <= 1e-12 * Math.max(Math.abs(expected), 1);
}

test('rate cases', () => {
  for (const [previous, value, now, overflow, expected, why] of RATE_CASES) {
    assert.equal(computeRateWith(previous, value, now, overflow), expected, `${why} (${overflow})`);
    if (overflow === RAISE) {
      assert.equal(computeRate(previous, value, now), expected, why);
    }
  }
  assert.throws(() => computeRateWith([10, 100], 50, 20, true), TypeError);
});

test('average series', () => {
  for (const [backlogMinutes, series] of AVERAGE_SERIES) {
    let state;
    series.forEach(([time, value, expected], i) => {
      state = computeAverage(state, value, time, backlogMinutes);
      assert.ok(close(state[2], expected), `backlog ${backlogMinutes}, [${i}]: got ${state[2]}, expected ${expected}`);
    });
  }
  assert.deepEqual(computeAverage(undefined, 7, 100, 5), [100, 100, 7], 'first value');
  assert.deepEqual(computeAverage([0, 60, 15], 99, 30, 5), [0, 60, 15], 'time anomaly keeps the state');
});
