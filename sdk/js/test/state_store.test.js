import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BY_SEVERITY, State, computeRate, decodeNumbers, encodeNumbers, exitCode, parseState, severity, stateName, worst } from '../index.js';

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
