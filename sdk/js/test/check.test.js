import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CheckError, Metric, Output, State, checkRequest, defineCheck, describeException, manpage, paramInfo, responseTimeLevels, timeoutParam } from '../index.js';

const info = {
  name: 'example',
  version: '0.1.0',
  title: 'Example: a number',
  manpage: manpage('Reports a number: OK below the levels, WARN or CRIT at or above them.'),
  params: [],
};

test('check results, check errors and surprises become WIT results', async () => {
  const { describe, discover, check } = defineCheck({
    describe: () => info,
    async check(request) {
      const what = request.params[0]?.value;
      if (what === 'bad') throw CheckError.badParams("parameter 'x': nope");
      if (what === 'gone') throw CheckError.itemNotFound();
      if (what === 'bug') return undefined.field;
      if (what === 'plain') return { partials: [{ state: State.OK, summary: 'A: 1' }] };
      return new Output().ok('A: 1').metric(Metric.count('a', 1));
    },
  });
  assert.equal(describe(), info);
  assert.deepEqual(await discover(checkRequest()), { tag: 'ok', val: [] });
  const ok = await check(checkRequest());
  assert.equal(ok.tag, 'ok');
  assert.deepEqual(ok.val.partials, [{ state: 'ok', summary: 'A: 1', details: undefined }]);
  assert.equal(ok.val.metrics[0].label, 'a');
  assert.deepEqual(await check(checkRequest({ params: { x: 'plain' } })), {
    tag: 'ok',
    val: { partials: [{ state: 'ok', summary: 'A: 1' }], metrics: [] },
  });
  assert.deepEqual(await check(checkRequest({ params: { x: 'bad' } })), { tag: 'err', val: { tag: 'bad-params', val: "parameter 'x': nope" } });
  assert.deepEqual(await check(checkRequest({ params: { x: 'gone' } })), { tag: 'err', val: { tag: 'item-not-found' } });
  const bug = await check(checkRequest({ params: { x: 'bug' } }));
  assert.equal(bug.val.tag, 'failed');
  assert.match(bug.val.val, /^Check raised TypeError: .+ \(at .+check\.test\.js:\d+:\d+\)$/);
});

test('a check returning something else fails clearly', async () => {
  const { check } = defineCheck({ describe: () => info, check: () => 42 });
  const r = await check(checkRequest());
  assert.equal(r.tag, 'err');
  assert.equal(r.val.tag, 'failed');
  assert.match(r.val.val, /^Check raised TypeError: check must return an Output or \{ partials, metrics \} \(at .+\)$/);
  assert.throws(() => defineCheck({ check() {} }), /describe and check must be functions/);
});

test('exceptions are described with their origin', () => {
  const e = new RangeError('too far');
  e.stack = 'RangeError: too far\ncheck@checks/js/x/check.js:12:5\n';
  assert.equal(describeException(e), 'Check raised RangeError: too far (at checks/js/x/check.js:12:5)');
  assert.equal(describeException('out of memory'), 'Check raised out of memory');
});

test('check errors carry their WIT payload', () => {
  assert.deepEqual(CheckError.failed('no route').payload, { tag: 'failed', val: 'no route' });
  assert.deepEqual(CheckError.itemNotFound().toWit(), { tag: 'item-not-found' });
  assert.ok(Object.hasOwn(CheckError.failed('x'), 'payload'), 'an own property, as the bindings look for');
  assert.throws(() => new CheckError('oops', 'x'), /unknown kind/);
});

test('info builders', () => {
  assert.deepEqual(paramInfo('warning', 'Free space.', { default: '20%', source: 'Nagios sample config' }), {
    name: 'warning',
    description: 'Free space.',
    defaultValue: '20%',
    defaultSource: 'Nagios sample config',
  });
  const [w, c] = responseTimeLevels('no default levels', ['rt_warning', 'rt_critical']);
  assert.equal(w.name, 'rt_warning');
  assert.equal(c.description, 'Response time in seconds at or above which the check is CRIT.');
  assert.equal(c.defaultSource, 'no default levels');
  assert.equal(responseTimeLevels('x')[0].name, 'warning');
  const t = timeoutParam('for the whole request', 2.5, 'example');
  assert.ok(t.description.startsWith("Time allowed for the whole request, as seconds ('10', '2.5')"));
  assert.deepEqual([t.defaultValue, t.defaultSource], ['2.5s', 'example']);
  assert.deepEqual(manpage('M', { item: 'The mount point.' }), { description: 'M', item: 'The mount point.', discovery: undefined });
});
