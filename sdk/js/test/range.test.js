import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Range, RangeSyntaxError, State, Thresholds } from '../index.js';

const r = (text) => Range.parse(text);

test('a plain number is 0 to N, inclusive', () => {
  const range = r('10');
  assert.deepEqual({ ...range }, { start: 0, end: 10, inside: false });
  assert.equal(range.alerts(0), false);
  assert.equal(range.alerts(10), false);
  assert.equal(range.alerts(10.001), true);
  assert.equal(range.alerts(-0.5), true);
});

test('open end and negative infinity', () => {
  const open = r('10:');
  assert.deepEqual({ ...open }, { start: 10, end: null, inside: false });
  assert.equal(open.alerts(9.99), true);
  assert.equal(open.alerts(10), false);
  assert.equal(open.alerts(1e12), false);
  const neg = r('~:10');
  assert.deepEqual({ ...neg }, { start: null, end: 10, inside: false });
  assert.equal(neg.alerts(-1e12), false);
  assert.equal(neg.alerts(10), false);
  assert.equal(neg.alerts(10.5), true);
});

test('both ends', () => {
  const range = r('10:20');
  assert.deepEqual([9, 10, 15, 20, 21].map((v) => range.alerts(v)), [true, false, false, false, true]);
  const neg = r('-5:-1');
  assert.equal(neg.alerts(0), true);
  assert.equal(neg.alerts(-5), false);
  assert.deepEqual({ ...r('5:5') }, { start: 5, end: 5, inside: false });
});

test('@ alerts inside, ends included', () => {
  const range = r('@10:20');
  assert.equal(range.inside, true);
  assert.deepEqual([9.9, 10, 15, 20, 20.1].map((v) => range.alerts(v)), [false, true, true, true, false]);
  const upto = r('@5');
  assert.ok(upto.alerts(0) && upto.alerts(5) && !upto.alerts(5.1));
});

test('an empty start is 0, like the plugins', () => {
  assert.deepEqual(r(':10'), r('10'));
  assert.deepEqual({ ...r('~:') }, { start: null, end: null, inside: false });
  assert.deepEqual({ ...r(' 1.5:2.5 ') }, { start: 1.5, end: 2.5, inside: false });
});

test('invalid forms are rejected with a clear message', () => {
  for (const [text, reason] of [
    ['20:10', 'start 20 is greater than end 10'],
    ['', 'it is empty'],
    ['   ', 'it is empty'],
    ['@', "'@' must be followed by a range"],
    ['abc', "'abc' is not a number"],
    ['10:abc', "'abc' is not a number"],
    ['x:10', "'x' is not a number"],
    ['~', "'~' must be followed by ':'"],
    ['10:20:30', "'20:30' is not a number"],
    ['@@10', "'@10' is not a number"],
    ['inf', "'inf' is not a number"],
    ['NaN:', "'NaN' is not a number"],
    ['10%', "'10%' is not a number"],
    ['0x10', "'0x10' is not a number"],
  ]) {
    assert.throws(
      () => Range.parse(text),
      (e) => {
        assert.ok(e instanceof RangeSyntaxError, text);
        assert.ok(e.message.startsWith(`invalid range '${text}': `), e.message);
        assert.ok(e.message.includes(reason), `${text}: ${e.message}`);
        assert.ok(e.message.endsWith('expected N, N:, ~:N, N:M or @N:M'), e.message);
        return true;
      },
    );
  }
});

test('toString is the shortest form and round-trips', () => {
  for (const [input, shown] of [
    ['10', '10'],
    ['0:10', '10'],
    ['10:', '10:'],
    ['~:10', '~:10'],
    ['10:20', '10:20'],
    ['@10:20', '@10:20'],
    ['@0:5', '@5'],
    ['~:', '~:'],
    ['1.5:2.25', '1.5:2.25'],
    ['-3:-1', '-3:-1'],
    ['1e21', '1000000000000000000000'],
    ['0.0000001:', '0.0000001:'],
  ]) {
    const range = r(input);
    assert.equal(String(range), shown, input);
    assert.deepEqual(r(shown), range, input);
  }
});

test('upper and lower constructors', () => {
  assert.equal(String(Range.upper(80)), '80');
  assert.ok(Range.upper(80).alerts(80.5));
  assert.ok(!Range.upper(80).alerts(80));
  assert.equal(String(Range.upper(-5)), '~:-5');
  assert.equal(String(Range.lower(10)), '10:');
  assert.ok(Range.lower(10).alerts(9));
  assert.ok(!Range.lower(10).alerts(10));
});

test('thresholds check critical first', () => {
  const t = Thresholds.parse('10', '20');
  assert.deepEqual([5, 10, 15, 20.5].map((v) => t.evaluate(v)), [State.OK, State.OK, State.WARNING, State.CRITICAL]);
  const both = Thresholds.parse('3', '5');
  assert.equal(both.evaluate(4), State.WARNING);
  assert.equal(both.evaluate(6), State.CRITICAL);
  const inverted = Thresholds.parse('5', '3');
  assert.equal(inverted.evaluate(4), State.CRITICAL);
  assert.equal(inverted.evaluate(2), State.OK);
  assert.equal(new Thresholds().evaluate(1e9), State.OK);
  assert.equal(new Thresholds(null, Range.lower(1)).evaluate(0.5), State.CRITICAL);
  assert.throws(() => Thresholds.parse('x', undefined), RangeSyntaxError);
});
