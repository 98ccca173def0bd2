import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Levels, State, checkLevels, render } from '../index.js';

test('upper levels alert at or above', () => {
  const l = Levels.upper(80, 90);
  assert.deepEqual(
    [79.999, 80, 89.999, 90, 1e9].map((v) => l.evaluate(v)),
    [State.OK, State.WARNING, State.WARNING, State.CRITICAL, State.CRITICAL],
  );
});

test('lower levels alert below', () => {
  const l = Levels.lower(10, 5);
  assert.deepEqual([10, 9.99, 5, 4.99].map((v) => l.evaluate(v)), [State.OK, State.WARNING, State.WARNING, State.CRITICAL]);
});

test('both, none, and inverted levels', () => {
  const l = Levels.both([80, 90], [10, 5]);
  assert.deepEqual(
    [50, 85, 95, 7, 1].map((v) => l.evaluate(v)),
    [State.OK, State.WARNING, State.CRITICAL, State.WARNING, State.CRITICAL],
  );
  assert.ok(Levels.none().isNone());
  assert.ok(!l.isNone());
  assert.equal(Levels.none().evaluate(Number.MAX_VALUE), State.OK);
  assert.equal(Levels.upper(95, 90).evaluate(92), State.CRITICAL, 'critical is checked first');
});

test('checkLevels text', () => {
  const upper = Levels.upper(80, 90);
  const ok = checkLevels(50, upper, 'Usage', render.percent);
  assert.deepEqual([ok.state, ok.summary], [State.OK, 'Usage: 50%']);
  const crit = checkLevels(90, upper, 'Usage', render.percent);
  assert.deepEqual([crit.state, crit.summary, crit.details], [State.CRITICAL, 'Usage: 90% (warn/crit at 80%/90%)', undefined]);
  const warn = checkLevels(6 * 1024, Levels.lower(10 * 1024, 5 * 1024), 'Free', render.bytes);
  assert.deepEqual([warn.state, warn.summary], [State.WARNING, 'Free: 6.00 KiB (warn/crit below 10.00 KiB/5.00 KiB)']);
  const both = Levels.both([80, 90], [10, 5]);
  assert.equal(checkLevels(1, both, 'Temperature', (v) => `${v} °C`).summary, 'Temperature: 1 °C (warn/crit below 10 °C/5 °C)');
  assert.equal(checkLevels(81, both, 'Temperature', (v) => `${v} °C`).summary, 'Temperature: 81 °C (warn/crit at 80 °C/90 °C)');
  assert.equal(checkLevels(12.5, Levels.upper(10, 20), 'Queue').summary, 'Queue: 12.5 (warn/crit at 10/20)', 'plain numbers by default');
});
