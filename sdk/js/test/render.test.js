import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatNumber, parseInteger, parseNumber, render } from '../index.js';

const KIB = 1024;

test('bytes use binary units', () => {
  assert.equal(render.bytes(0), '0 B');
  assert.equal(render.bytes(512), '512 B');
  assert.equal(render.bytes(1023), '1023 B');
  assert.equal(render.bytes(KIB), '1.00 KiB');
  assert.equal(render.bytes(1.5 * KIB * KIB), '1.50 MiB');
  assert.equal(render.bytes(1.5 * KIB ** 3), '1.50 GiB');
  assert.equal(render.bytes(2 * KIB ** 4), '2.00 TiB');
  assert.equal(render.bytes(3 * KIB ** 5), '3.00 PiB');
  assert.equal(render.bytes(KIB * KIB - 1), '1.00 MiB');
  assert.equal(render.bytes(-2048), '-2.00 KiB');
});

test('percent has no blank', () => {
  assert.equal(render.percent(89.5), '89.5%');
  assert.equal(render.percent(100), '100%');
  assert.equal(render.percent(0), '0%');
  assert.equal(render.percent(33.3333), '33.33%');
  assert.equal(render.percent(12.999), '13%');
  assert.equal(render.percent(0.001), '<0.01%');
});

test('seconds pick a readable unit', () => {
  for (const [value, text] of [
    [0, '0 s'],
    [0.000_85, '850 µs'],
    [0.0015, '1.5 ms'],
    [0.002, '2 ms'],
    [0.012, '12 ms'],
    [0.9994, '999 ms'],
    [0.9996, '1.00 s'],
    [1.2, '1.20 s'],
    [303, '5 min 3 s'],
    [7500, '2 h 5 min'],
    [4 * 86_400 + 3 * 3600, '4 d 3 h'],
    [-0.5, '-500 ms'],
  ]) {
    assert.equal(render.seconds(value), text, String(value));
  }
});

test('float drops negative zero', () => {
  assert.equal(render.float(-0.0001, 2), '0.00');
  assert.equal(render.float(-1.5, 1), '-1.5');
  assert.equal(render.float(2, 0), '2');
});

test('numbers are read strictly and written like Rust', () => {
  for (const good of ['12', '-1.5', '.5', '5.', '+3', '1e3', '2.5E-3']) {
    assert.equal(parseNumber(good), Number(good), good);
  }
  for (const bad of ['', ' 1', '0x10', 'Infinity', 'inf', 'NaN', '1e', '1_000', '1,5', '--1', '1e400']) {
    assert.equal(parseNumber(bad), undefined, bad);
  }
  assert.equal(parseInteger('+80'), 80);
  assert.equal(parseInteger('8.0'), undefined);
  assert.equal(parseInteger('99999999999999999999'), undefined);
  for (const [value, text] of [
    [0, '0'],
    [-0, '0'],
    [10, '10'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [1e-7, '0.0000001'],
    [-2.5e-8, '-0.000000025'],
    [123.456, '123.456'],
  ]) {
    assert.equal(formatNumber(value), text, String(value));
  }
});
