// Native tests of the http_api check under Node.js: the parsing helpers, and
// whole runs against an HTTP server on 127.0.0.1 (Node's fetch stands in for
// the component's wasi:http one).

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { CheckError, checkRequest } from '../../../sdk/js/index.js';
import { PARAMS, check, describe, lookup, metricLabel, numericValue, parseFieldPath, parseStatusRules, settings } from './check.js';

/** The message of the bad-params error `fn` throws. */
function bad(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CheckError && e.kind === 'bad-params', String(e));
    return e.message;
  }
  assert.fail('accepted');
}

test('describe documents exactly the accepted params', () => {
  const info = describe();
  assert.deepEqual(
    info.params.map((p) => p.name),
    PARAMS,
  );
  for (const p of info.params) {
    assert.ok(p.description.length > 10, p.name);
    if (/warn|crit/.test(p.name)) assert.ok(p.defaultSource, `${p.name} says why it has no default`);
  }
  assert.match(info.manpage.description, /OK:.*WARN:.*CRIT:/s);
});

test('field paths', () => {
  assert.deepEqual(parseFieldPath('data.queue.depth'), ['data', 'queue', 'depth']);
  assert.deepEqual(parseFieldPath('items[0].count'), ['items', 0, 'count']);
  assert.deepEqual(parseFieldPath('$.stats["req.total"]'), ['stats', 'req.total']);
  assert.deepEqual(parseFieldPath("$['a b'][2]"), ['a b', 2]);
  assert.deepEqual(parseFieldPath('items.0.count'), ['items', '0', 'count']);
  for (const [text, why] of [
    ['', 'no name'],
    ['a..b', 'an empty name'],
    ['a.', 'an empty name'],
    ['a[x]', "a '['"],
    ['a[0]b', "'b' where a '.' or '[' was expected"],
    ['a]', "']' where"],
  ]) {
    const msg = bad(() => parseFieldPath(text));
    assert.ok(msg.startsWith(`parameter 'field': ${why}`), msg);
    assert.ok(msg.includes(`in '${text}'`), msg);
  }
});

test('lookups say where they stopped', () => {
  const doc = { data: { queue: { depth: 7 }, items: [{ n: 1 }, { n: '2.5' }] }, up: true };
  assert.deepEqual(lookup(doc, ['data', 'queue', 'depth']), { found: true, value: 7 });
  assert.deepEqual(lookup(doc, ['data', 'items', 1, 'n']), { found: true, value: '2.5' });
  assert.deepEqual(lookup(doc, ['data', 'items', '1', 'n']), { found: true, value: '2.5' });
  assert.equal(lookup(doc, ['data', 'queue', 'size']).reason, "'data.queue' has no 'size' (it has depth)");
  assert.equal(lookup(doc, ['nope']).reason, "the document has no 'nope' (it has data, up)");
  assert.equal(lookup(doc, ['data', 'items', 5]).reason, "'data.items' has 2 elements, no [5]");
  assert.equal(lookup(doc, ['data', 'items', 'n']).reason, "'data.items' is an array, not an object with 'n'");
  assert.equal(lookup(doc, ['up', 'x']).reason, "'up' is a boolean (true), not an object or array");
  assert.equal(lookup([1], ['a']).reason, "the document is an array, not an object with 'a'");
});

test('values, labels and status rules', () => {
  assert.equal(numericValue(3), 3);
  assert.equal(numericValue(' 2.5 '), 2.5);
  assert.equal(numericValue('green'), undefined);
  assert.equal(numericValue(true), undefined);
  assert.equal(metricLabel(['data', 'queueDepth']), 'data_queuedepth');
  assert.equal(metricLabel(['items', 0, 'busy-workers']), 'items_0_busy_workers');
  assert.equal(metricLabel([0]), 'value_0');
  assert.equal(metricLabel(['size']), 'size_value');
  assert.equal(metricLabel(['stats', 'current']), 'stats');
  assert.equal(metricLabel(['Ä']), 'value');
  assert.deepEqual(
    parseStatusRules('200, 3xx').map((r) => [r.lo, r.hi]),
    [
      [200, 200],
      [300, 399],
    ],
  );
  assert.equal(bad(() => parseStatusRules('2xx,600')), "parameter 'expect_status': '600' is not a status code (100-599) or a class such as 2xx");
  assert.ok(bad(() => parseStatusRules(' , ')).includes('the list is empty'));
});

test('settings build the URL from the target and refuse bad parameters', () => {
  const s = (params, target = { address: '127.0.0.1', name: 'api.example' }) => settings(checkRequest({ ...target, params }));
  assert.equal(s({}).url, 'http://127.0.0.1/');
  assert.equal(s({ port: '8080', path: '/v1/stats?x=1' }).url, 'http://127.0.0.1:8080/v1/stats?x=1');
  assert.equal(s({ scheme: 'https' }).url, 'https://api.example/', 'https goes to the name, for the certificate');
  assert.equal(s({}, { address: '::1', name: '::1' }).url, 'http://[::1]/');
  assert.equal(s({ timeout: '30' }).timeout, 9, '90% of the host budget');
  assert.equal(bad(() => s({ prot: 'x' })).split(' (')[0], "unknown parameter 'prot'");
  assert.equal(bad(() => s({ port: '0' })), "parameter 'port': expected an integer from 1 to 65535, got '0'");
  assert.equal(bad(() => s({ scheme: 'ftp' })), "parameter 'scheme': expected one of http, https, got 'ftp'");
  assert.ok(bad(() => s({ path: 'v1' })).startsWith("parameter 'path': expected a path starting with '/'"));
  assert.equal(bad(() => s({ warning: '5', critical: '9' })), "parameter 'warning': levels on a value need 'field', the path of the value in the JSON response");
  assert.equal(bad(() => s({ field: 'a', warning: '5' })), "parameter 'warning' is given without 'critical': give both or neither");
  assert.equal(bad(() => s({ field: 'a', warning: 'high', critical: '9' })), "parameter 'warning': expected a number, got 'high'");
  assert.equal(bad(() => s({ max_body: '0' })), "parameter 'max_body': expected an integer from 1 to 8388608, got '0'");
  assert.equal(bad(() => s({}, { address: '', name: '' })), 'the target has no address: run the check with -H HOST');
  const both = s({ field: 'a', warning: '5', critical: '9', warning_lower: '2', critical_lower: '1' }).levels;
  assert.deepEqual([both.upper, both.lower], [[5, 9], [2, 1]]);
});

let server;
let port;
const ROUTES = {
  '/stats': [200, 'application/json', JSON.stringify({ data: { queue: { depth: 12 }, workers: [{ busy: '3' }] }, status: 'green' })],
  '/html': [200, 'text/html', '<!DOCTYPE html><html><body>Welcome</body></html>'],
  '/empty': [204, 'application/json', ''],
  '/broken': [503, 'application/json', '{"error":"maintenance"}'],
  '/big': [200, 'application/json', JSON.stringify({ pad: 'x'.repeat(5000) })],
};

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow') {
      return; // never answers
    }
    const [status, type, body] = ROUTES[req.url] ?? [404, 'text/plain', 'not here'];
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  port = String(server.address().port);
});

after(() => {
  server.closeAllConnections();
  server.close();
});

/** Runs the check against the test server. */
async function run(params, timeoutMs = 10_000) {
  const result = await check(checkRequest({ address: '127.0.0.1', params: { port, ...params }, timeoutMs }));
  if (result.tag === 'err') return result;
  const { partials, metrics } = result.val;
  const order = ['ok', 'warning', 'unknown', 'critical'];
  const state = partials.reduce((a, p) => (order.indexOf(p.state) > order.indexOf(a) ? p.state : a), 'ok');
  return { state, summary: partials.map((p) => p.summary).join(', '), partials, metrics };
}

test('a JSON value within, at and beyond its levels', async () => {
  const ok = await run({ path: '/stats', field: 'data.queue.depth', warning: '20', critical: '50' });
  assert.equal(ok.state, 'ok', ok.summary);
  assert.match(ok.summary, /^Status: 200 OK, Response time: [\d.]+ m?s, Field data\.queue\.depth: 12$/);
  const depth = ok.metrics.find((m) => m.label === 'data_queue_depth');
  assert.deepEqual([depth.value, String(depth.warn), String(depth.crit)], [12, '20', '50']);
  assert.ok(ok.metrics.some((m) => m.label === 'response_time' && m.uom === 's' && m.max === 9));
  assert.ok(ok.metrics.some((m) => m.label === 'size' && m.uom === 'B' && m.value > 50));

  const warn = await run({ path: '/stats', field: 'data.queue.depth', warning: '12', critical: '50' });
  assert.equal(warn.state, 'warning');
  assert.ok(warn.summary.endsWith('Field data.queue.depth: 12 (warn/crit at 12/50)'), warn.summary);
  const crit = await run({ path: '/stats', field: 'data.workers[0].busy', warning_lower: '5', critical_lower: '4' });
  assert.equal(crit.state, 'critical');
  assert.ok(crit.summary.endsWith('Field data.workers[0].busy: 3 (warn/crit below 5/4)'), crit.summary);
  assert.deepEqual(
    crit.metrics.filter((m) => m.label === 'data_workers_0_busy').map((m) => [String(m.warn), String(m.crit)]),
    [['5:', '4:']],
  );
});

test('status, JSON and field problems', async () => {
  const down = await run({ path: '/broken' });
  assert.equal(down.state, 'critical');
  assert.ok(down.summary.startsWith('Status: 503 Service Unavailable (expected 2xx)'), down.summary);
  assert.equal(down.partials[0].details, `Body starts with: '{"error":"maintenance"}'`);
  assert.equal((await run({ path: '/broken', expect_status: '503' })).state, 'ok');

  const html = await run({ path: '/html' });
  assert.equal(html.state, 'critical');
  assert.match(html.summary, /Response is not JSON: .+ \(content type text\/html\)$/);
  assert.equal((await run({ path: '/empty', expect_status: '204' })).state, 'ok', 'no body, no field: fine');
  assert.equal((await run({ path: '/empty', expect_status: '204', field: 'a' })).state, 'critical');

  const missing = await run({ path: '/stats', field: 'data.queue.size' });
  assert.equal(missing.state, 'unknown');
  assert.ok(missing.summary.endsWith("Field data.queue.size not found: 'data.queue' has no 'size' (it has depth)"), missing.summary);
  const text = await run({ path: '/stats', field: 'status' });
  assert.equal(text.state, 'unknown');
  assert.ok(text.summary.endsWith("Field status is a string ('green'), not a number"), text.summary);
  const big = await run({ path: '/big', max_body: '1000' });
  assert.equal(big.state, 'unknown');
  assert.ok(big.summary.endsWith('Response larger than max_body (1000 B); raise max_body to read it'), big.summary);
});

test('connection failures and timeouts', async () => {
  const closed = createServer();
  await new Promise((ok) => closed.listen(0, '127.0.0.1', ok));
  const closedPort = String(closed.address().port);
  await new Promise((ok) => closed.close(ok));
  const refused = await run({ port: closedPort });
  assert.equal(refused.state, 'critical');
  assert.ok(refused.summary.startsWith(`Connection to 127.0.0.1:${closedPort} failed: `), refused.summary);
  assert.ok(refused.partials[0].details.includes(`GET http://127.0.0.1:${closedPort}/`));

  const started = Date.now();
  const slow = await run({ path: '/slow', timeout: '300ms' });
  assert.equal(slow.state, 'critical');
  assert.equal(slow.summary, 'Socket timeout after 0.3 seconds');
  assert.ok(Date.now() - started < 3000);

  assert.deepEqual(await run({ port: '70000' }), {
    tag: 'err',
    val: { tag: 'bad-params', val: "parameter 'port': expected an integer from 1 to 65535, got '70000'" },
  });
});
