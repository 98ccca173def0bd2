import assert from 'node:assert/strict';
import { register } from 'node:module';
import { beforeEach, test } from 'node:test';

import { CheckError, Overflow } from '../index.js';

register('../support/fake-host-hooks.js', import.meta.url);
globalThis.wasmonFake = { logs: [], store: new Map(), system: false };
const { log, store, machine } = await import('../host.js');

beforeEach(() => {
  globalThis.wasmonFake = { logs: [], store: new Map(), system: false };
});

test('log levels reach the host', () => {
  log.debug('d');
  log.error(42);
  assert.deepEqual(globalThis.wasmonFake.logs, [['debug', 'd'], ['error', '42']]);
});

test('the value store keeps bytes, texts and numbers', () => {
  assert.equal(store.get('a'), undefined);
  store.setString('a', 'héllo');
  assert.equal(store.getString('a'), 'héllo');
  store.setNumbers('n', [1.5, -2]);
  assert.deepEqual(store.getNumbers('n'), [1.5, -2]);
  store.delete('n');
  assert.equal(store.getNumbers('n'), undefined);
  assert.throws(
    () => store.set('big', new Uint8Array(70_000)),
    (e) => e instanceof CheckError && e.kind === 'failed' && e.message === "value store: cannot set 'big': value of 70000 bytes exceeds 64 KiB",
  );
});

test('rates are computed across runs through the store', () => {
  assert.equal(store.rate('octets', 100, 10), undefined, 'first sample');
  assert.equal(store.rate('octets', 160, 40), 2);
  assert.equal(store.rate('octets', 10, 50), undefined, 'reset');
  assert.equal(store.rate('octets', 30, 60), 2);
});

test('rateWith and average keep their state in the store', () => {
  assert.equal(store.rateWith('q', 100, Overflow.NEGATIVE, 10), undefined, 'first sample');
  assert.equal(store.rateWith('q', 50, Overflow.NEGATIVE, 20), -5);
  assert.equal(store.rateWith('q', 40, Overflow.RAISE, 30), undefined, 'went down');
  assert.equal(store.rate('q', 60, 40), 2);
  assert.deepEqual(store.getNumbers('q'), [40, 60]);
  assert.throws(() => store.rateWith('q', 70, 'sometimes', 50), TypeError);
  assert.deepEqual(store.getNumbers('q'), [40, 60], 'nothing stored for a bad overflow');
  assert.deepEqual([[0, 23], [60, 42], [120, 42], [300, 42]].map(([t, v]) => store.average('a', v, 1, t)), [23, 32.5, 37.25, 41.40625]);
  assert.deepEqual(store.getNumbers('a'), [0, 300, 41.40625]);
});

test('system facts need the grant and come as numbers', () => {
  assert.throws(() => machine.load(), (e) => e instanceof CheckError && e.message === 'the system interface is not granted to this check');
  globalThis.wasmonFake.system = true;
  assert.equal(machine.load().cpus, 2);
  assert.equal(machine.memory().memTotal, 8 * 1024 ** 3);
  assert.deepEqual(machine.filesystems()[0].freeBytes, 40);
  assert.equal(machine.uptime(), 1234.5);
});
