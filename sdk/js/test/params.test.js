import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CheckError, Levels, Params, Range, State, checkRequest, ioTimeout, parseBytes, renderAmount, requiredItem } from '../index.js';

const list = (pairs) => pairs.map(([name, value]) => ({ name, value }));
const p = (pairs) => new Params(list(pairs));

/** The message of the bad-params error `fn` throws. */
function bad(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CheckError, `expected a CheckError, got ${e}`);
    assert.equal(e.kind, 'bad-params');
    assert.deepEqual(e.payload, { tag: 'bad-params', val: e.message });
    return e.message;
  }
  assert.fail('no error');
}

test('the last duplicate wins', () => {
  const params = p([['port', '80'], ['host', 'x'], ['port', '8080']]);
  assert.equal(params.get('port'), '8080');
  assert.equal(params.get('nope'), undefined);
  assert.equal(params.has('host'), true);
  assert.equal(params.integer('port', 1), 8080);
  assert.equal(params.entries().length, 3);
});

test('errors name the parameter, the expectation and the value', () => {
  const params = p([['port', 'abc'], ['big', '70000'], ['n', '1e3x'], ['zero', '0'], ['x', '5']]);
  assert.equal(bad(() => params.integer('port', 80, { min: 0, max: 65535 })), "parameter 'port': expected an integer from 0 to 65535, got 'abc'");
  assert.equal(bad(() => params.integer('zero', 80, { min: 1, max: 65535 })), "parameter 'zero': expected an integer from 1 to 65535, got '0'");
  assert.equal(bad(() => params.integer('big', 80, { max: 65535 })), "parameter 'big': expected an integer of at most 65535, got '70000'");
  assert.equal(bad(() => params.integer('zero', 80, { min: 1 })), "parameter 'zero': expected an integer of at least 1, got '0'");
  assert.equal(bad(() => params.number('n', 0)), "parameter 'n': expected a number, got '1e3x'");
  assert.equal(params.number('missing', 2.5, { min: 0, max: 10 }), 2.5);
  assert.equal(bad(() => params.number('x', 1, { min: 0, max: 1 })), "parameter 'x': expected a number from 0 to 1, got '5'");
  assert.equal(bad(() => params.integer('n', 1)), "parameter 'n': expected an integer, got '1e3x'");
});

test('required values and defaults', () => {
  const params = p([['count', ' 3 ']]);
  assert.equal(params.integer('count', undefined), 3);
  assert.equal(params.required('count'), ' 3 ');
  assert.equal(bad(() => params.required('size')), "parameter 'size' is required");
  assert.equal(params.integer('size', 7), 7);
  assert.equal(params.number('size', undefined), undefined);
});

test('numbers refuse nan and infinity', () => {
  const params = p([['a', 'nan'], ['b', 'inf'], ['c', '-1.5'], ['d', '']]);
  assert.ok(bad(() => params.number('a', 0)));
  assert.ok(bad(() => params.number('b', 0)));
  assert.ok(bad(() => params.number('d', 0)), 'empty is not 0');
  assert.equal(params.number('c', 0), -1.5);
});

test('durations in seconds', () => {
  const params = p([
    ['a', '10s'], ['b', '500ms'], ['c', '2m'], ['d', '1.5'], ['e', '1h'], ['f', '2min'],
    ['g', '-1s'], ['h', '10 parsecs'], ['i', 's'], ['j', '250us'],
  ]);
  const d = (n) => params.duration(n, 0);
  assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f', 'j', 'zz'].map(d), [10, 0.5, 120, 1.5, 3600, 120, 0.00025, 0]);
  for (const n of ['g', 'h', 'i']) {
    const msg = bad(() => d(n));
    assert.ok(msg.startsWith(`parameter '${n}': expected a duration such as 10s`), msg);
    assert.ok(msg.endsWith(`got '${params.get(n)}'`), msg);
  }
});

test('booleans and choices', () => {
  const params = p([['a', 'Yes'], ['b', 'off'], ['c', '1'], ['d', 'maybe'], ['s', 'HTTPS'], ['t', 'ftp']]);
  assert.deepEqual([params.bool('a', false), params.bool('b', true), params.bool('c', false), params.bool('zz', true)], [true, false, true, true]);
  assert.equal(bad(() => params.bool('d', false)), "parameter 'd': expected true or false (also yes/no, on/off, 1/0), got 'maybe'");
  assert.equal(params.choice('s', 'http', ['http', 'https']), 'https');
  assert.equal(params.choice('zz', 'http', ['http', 'https']), 'http');
  assert.equal(bad(() => params.choice('t', 'http', ['http', 'https'])), "parameter 't': expected one of http, https, got 'ftp'");
});

test('states, ranges and thresholds', () => {
  const params = p([['state', 'crit'], ['bad', 'nope'], ['w', '10:'], ['c', '20:10']]);
  assert.equal(params.state('state', State.OK), State.CRITICAL);
  assert.equal(params.state('none', State.WARNING), State.WARNING);
  assert.equal(
    bad(() => params.state('bad', State.OK)),
    "parameter 'bad': expected a state (OK, WARNING, CRITICAL, UNKNOWN, WARN, CRIT or 0-3), got 'nope'",
  );
  assert.deepEqual(params.range('w'), Range.lower(10));
  assert.equal(params.range('zz'), null);
  assert.equal(
    bad(() => params.thresholds('w', 'c')),
    "parameter 'c': invalid range '20:10': start 20 is greater than end 10; expected N, N:, ~:N, N:M or @N:M",
  );
});

test('level pairs', () => {
  const params = p([['warning', '70'], ['critical', '95'], ['w2', 'x']]);
  assert.deepEqual(params.levelsUpper('warning', 'critical', [80, 90]), Levels.upper(70, 95));
  assert.deepEqual(params.levelsUpper('warning', 'crit2', [80, 90]), Levels.upper(70, 90));
  assert.deepEqual(params.levelsLower('warn2', 'critical', [20, 10]), Levels.lower(20, 95));
  assert.deepEqual(params.levelsUpper('a', 'b', [1, 2]), Levels.upper(1, 2));
  assert.deepEqual(params.levelsUpper('a', 'b'), Levels.none());
  assert.equal(bad(() => params.levelsUpper('warning', 'b')), "parameter 'warning' is given without 'b': give both or neither");
  assert.equal(bad(() => params.levelsUpper('a', 'critical')), "parameter 'critical' is given without 'a': give both or neither");
  assert.equal(bad(() => params.levelsUpper('w2', 'critical')), "parameter 'w2': expected a number, got 'x'");
});

test('amounts', () => {
  const params = p([['a', '20%'], ['b', '10GB'], ['c', '10'], ['d', '120%'], ['e', '1.5 t'], ['f', 'x%']]);
  assert.deepEqual(params.amount('a'), { percent: 20 });
  assert.deepEqual(params.amount('b'), { bytes: 10 * 1024 ** 3 });
  assert.deepEqual(params.amount('e'), { bytes: 1.5 * 1024 ** 4 });
  assert.equal(params.amount('zz'), null);
  for (const n of ['c', 'd', 'f']) {
    const msg = bad(() => params.amount(n));
    assert.ok(msg.startsWith(`parameter '${n}': expected a percentage from 0% to 100%`), msg);
  }
  assert.equal(renderAmount({ percent: 20 }), '20%');
  assert.equal(renderAmount({ bytes: 1024 }), '1.00 KiB');
  assert.equal(parseBytes('7B'), 7);
  assert.equal(parseBytes('2 KiB'), 2048);
  assert.equal(parseBytes('-2KiB'), undefined);
  assert.equal(parseBytes('GiB'), undefined);
  assert.equal(parseBytes('500'), undefined);
});

test('unknown names are rejected', () => {
  const params = p([['port', '80'], ['prot', 'tcp']]);
  params.rejectUnknown(['port', 'prot']);
  assert.equal(bad(() => params.rejectUnknown(['port', 'timeout'])), "unknown parameter 'prot' (this check understands: port, timeout)");
  assert.equal(bad(() => params.rejectUnknown([])), "unknown parameter 'port' (this check understands: none)");
});

test('requests and items', () => {
  const req = checkRequest({ name: 'h', params: { a: '1' } });
  assert.deepEqual([req.target.name, req.target.address, req.timeoutMs, req.item], ['h', '', 10_000, undefined]);
  assert.equal(new Params(req.params).get('a'), '1');
  assert.ok(bad(() => requiredItem(req)));
  assert.equal(requiredItem({ ...req, item: '/' }), '/');
  assert.equal(checkRequest({ address: '192.0.2.1' }).target.name, '192.0.2.1');
});

test('the I/O timeout stays within the host budget', () => {
  const req = (timeout, timeoutMs) => checkRequest({ params: timeout === undefined ? {} : { timeout }, timeoutMs });
  assert.equal(ioTimeout(req(undefined, 10_000), 10), 9);
  assert.equal(ioTimeout(req(undefined, 60_000), 10), 10);
  assert.equal(ioTimeout(req('2s', 10_000), 10), 2);
  assert.equal(ioTimeout(req('30', 10_000), 10), 9);
  assert.equal(ioTimeout(req(undefined, 0), 10), 10, 'no budget known');
  assert.ok(bad(() => ioTimeout(req('0', 10_000), 10)).includes("parameter 'timeout'"));
  assert.ok(bad(() => ioTimeout(req('soon', 10_000), 10)).includes("got 'soon'"));
});
