import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Levels, Metric, Output, Range, State, Thresholds, isValidLabel, partial } from '../index.js';

test('label syntax', () => {
  for (const good of ['load1', 'fs_used', '_x', 'a']) assert.ok(isValidLabel(good), good);
  for (const bad of ['', '1load', 'Load', 'fs-used', 'fs used', 'tíme', undefined]) assert.ok(!isValidLabel(bad), String(bad));
});

test('canonical constructors', () => {
  const p = Metric.percent('mem_used_percent', 42);
  assert.deepEqual([p.uom, p.min, p.max], ['%', 0, 100]);
  const b = Metric.bytes('fs_used', 1024);
  assert.deepEqual([b.uom, b.min, b.max], ['B', 0, null]);
  assert.equal(Metric.seconds('time', 0.012).uom, 's');
  assert.equal(Metric.perSecond('requests', 3).uom, '');
  assert.equal(Metric.count('processes', 3).uom, '');
  assert.equal(Metric.counter('bytes_in', 3).uom, 'c');
  const n = Metric.number('load1', 0.5);
  assert.deepEqual([n.min, n.max, n.warn, n.crit], [null, null, null, null]);
});

test('bad labels, units and values are refused', () => {
  assert.throws(() => new Metric('Response Time', 1, 's'), /lower case letters/);
  assert.throws(() => new Metric('time', 1, 'ms'), /is not one of/);
  assert.throws(() => new Metric('time', '1', 's'), /must be a number/);
});

test('levels and thresholds become perfdata ranges', () => {
  const up = Metric.percent('usage', 50).withLevels(Levels.upper(80, 90));
  assert.deepEqual([String(up.warn), String(up.crit)], ['80', '90']);
  const low = Metric.bytes('free', 5).withLevels(Levels.lower(10, 5));
  assert.deepEqual([String(low.warn), String(low.crit)], ['10:', '5:']);
  const both = Metric.number('t', 5).withLevels(Levels.both([80, 90], [10, 5]));
  assert.deepEqual(both.warn, Range.upper(80));
  const none = up.withLevels(Levels.none());
  assert.deepEqual([none.warn, none.crit], [null, null]);
  const t = Metric.number('q', 1).withThresholds(Thresholds.parse('@1:2', '~:5'));
  assert.deepEqual([String(t.warn), String(t.crit)], ['@1:2', '~:5']);
  const explicit = Metric.seconds('time', 1).setWarn(Range.upper(2)).setCrit(Range.upper(5)).setMax(10);
  assert.deepEqual([explicit.crit, explicit.max], [Range.upper(5), 10]);
});

test('state is the worst in severity order, summary joins with ", "', () => {
  const out = new Output();
  assert.equal(out.state(), State.OK);
  out.ok('A: 1');
  assert.equal(out.state(), State.OK);
  out.warn('B: 2');
  assert.equal(out.state(), State.WARNING);
  out.unknown('C: ?');
  assert.equal(out.state(), State.UNKNOWN);
  out.crit('D: 4');
  assert.equal(out.state(), State.CRITICAL);
  out.unknown('E: ?').ok('F: 6');
  assert.equal(out.state(), State.CRITICAL);
  assert.equal(out.summary(), 'A: 1, B: 2, C: ?, D: 4, E: ?, F: 6');
});

test('details attach to the last partial', () => {
  const out = new Output();
  assert.throws(() => out.details('x'), /before any partial/);
  out.ok('A: 1').warn('B: 2').details('line 1').details('line 2');
  out.metric(Metric.count('things', 2));
  const result = out.toResult();
  assert.equal(result.partials[0].details, undefined);
  assert.equal(result.partials[1].details, 'line 1\nline 2');
  assert.equal(result.metrics.length, 1);
  assert.throws(() => out.metric({ label: 'x', value: 1 }), /expected a Metric/);
  assert.throws(() => out.partial('fine', 'X: 1'), /not a state/);
});

test('response time adds the judged time and its metric', () => {
  const out = new Output();
  out.ok('Connected');
  out.responseTime(0.012, Levels.none(), 9.5);
  assert.deepEqual([out.state(), out.summary()], [State.OK, 'Connected, Response time: 12 ms']);
  const m = out.metrics[0];
  assert.deepEqual([m.label, m.value, m.uom, m.warn, m.crit, m.min, m.max], ['response_time', 0.012, 's', null, null, 0, 9.5]);
  const slow = new Output().responseTime(1.5, Levels.upper(1, 2), 10);
  assert.equal(slow.state(), State.WARNING);
  assert.equal(slow.summary(), 'Response time: 1.50 s (warn/crit at 1.00 s/2.00 s)');
  assert.equal(String(slow.metrics[0].crit), '2');
});

test('partial checks its state', () => {
  assert.deepEqual(partial(State.CRITICAL, 'Port: closed', 'refused'), { state: 'critical', summary: 'Port: closed', details: 'refused' });
  assert.throws(() => partial('CRIT', 'x'), TypeError);
});
