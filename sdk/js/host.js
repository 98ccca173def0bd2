/**
 * The host's imports for a check: the per-service value store, the log, and
 * the read-only `system` facts. This module imports the WIT interfaces of
 * `wasmon:check`, so it only loads inside a component (componentize-js); the
 * rest of the SDK (`index.js`) also runs under Node.js for unit tests.
 *
 * @module host
 */

import { log as hostLog } from 'wasmon:check/log@0.1.0';
import * as system from 'wasmon:check/system@0.1.0';
import * as valueStore from 'wasmon:check/value-store@0.1.0';

import { CheckError } from './errors.js';
import { Overflow, computeAverage, computeRateWith, decodeNumbers, encodeNumbers } from './store.js';

/** The message of a host error thrown by the bindings (`ComponentError`). */
function hostMessage(e) {
  return typeof e?.payload === 'string' ? e.payload : String(e?.message ?? e);
}

/** Messages for the host's log (not for the check's output). */
export const log = Object.freeze({
  /** Detailed tracing of what the check does. */
  debug: (message) => hostLog('debug', String(message)),
  /** Normal operation worth recording. */
  info: (message) => hostLog('info', String(message)),
  /** Something odd that did not stop the check. */
  warn: (message) => hostLog('warn', String(message)),
  /** Something failed. */
  error: (message) => hostLog('error', String(message)),
});

/**
 * The per-service value store: a fresh instance sees what an earlier run of
 * the same service left. Limits: keys up to 256 bytes, values up to 64 KiB,
 * 64 keys per service.
 */
export const store = Object.freeze({
  /**
   * The bytes stored under `key`, or undefined.
   *
   * @param {string} key
   * @returns {Uint8Array | undefined}
   */
  get(key) {
    return valueStore.get(key) ?? undefined;
  },

  /**
   * Stores bytes under `key`; a CheckError (failed) when the host's limits
   * are exceeded.
   *
   * @param {string} key
   * @param {Uint8Array} value
   */
  set(key, value) {
    try {
      valueStore.set(key, value);
    } catch (e) {
      throw CheckError.failed(`value store: cannot set '${key}': ${hostMessage(e)}`);
    }
  },

  /** Removes `key`; removing a missing key is not an error. */
  delete(key) {
    valueStore.delete(key);
  },

  /** The text stored under `key` with {@link store.setString}, or undefined. */
  getString(key) {
    const bytes = valueStore.get(key);
    return bytes === undefined || bytes === null ? undefined : new TextDecoder().decode(bytes);
  },

  /** Stores a text under `key`. */
  setString(key, text) {
    store.set(key, new TextEncoder().encode(text));
  },

  /** The numbers stored under `key` with {@link store.setNumbers}, or undefined. */
  getNumbers(key) {
    const bytes = valueStore.get(key);
    return bytes === undefined || bytes === null ? undefined : decodeNumbers(bytes);
  },

  /** Stores numbers under `key` (little-endian f64s, as the Rust SDK). */
  setNumbers(key, values) {
    store.set(key, encodeNumbers(values));
  },

  /**
   * The rate of a growing counter per second, remembering the last sample
   * under `key`; undefined on the first call, after a wrap or reset, or when
   * no time passed (report "initializing" then). Every call stores the
   * current sample. The same as {@link store.rateWith} with
   * `Overflow.RAISE`.
   *
   * @param {string} key
   * @param {number} counter
   * @param {number} [now] seconds since the epoch (default: the wall clock)
   * @returns {number | undefined}
   */
  rate(key, counter, now = Date.now() / 1000) {
    return store.rateWith(key, counter, Overflow.RAISE, now);
  },

  /**
   * The rate of a value per second since the sample remembered under `key`,
   * as Checkmk's `get_rate`: negative when the value went down unless
   * `overflow` is `Overflow.RAISE`; undefined on the first call, when no
   * time passed, and with `Overflow.RAISE` when the value went down (report
   * "initializing" then). Every call stores the current sample. See
   * `computeRateWith`.
   *
   * @param {string} key
   * @param {number} value
   * @param {Overflow} overflow `Overflow.NEGATIVE` or `Overflow.RAISE`
   * @param {number} [now] seconds since the epoch (default: the wall clock)
   * @returns {number | undefined}
   */
  rateWith(key, value, overflow, now = Date.now() / 1000) {
    const previous = store.getNumbers(key);
    const rate = computeRateWith(previous?.length === 2 ? previous : undefined, value, now, overflow);
    store.setNumbers(key, [now, value]);
    return rate;
  },

  /**
   * The exponential moving average of `value` over about `backlogMinutes`,
   * remembering its state under `key`, as Checkmk's `get_average`: the first
   * call returns `value`; when no time passed, the last average. See
   * `computeAverage` for the weighting.
   *
   * @param {string} key
   * @param {number} value
   * @param {number} backlogMinutes the averaging horizon
   * @param {number} [now] seconds since the epoch (default: the wall clock)
   * @returns {number}
   */
  average(key, value, backlogMinutes, now = Date.now() / 1000) {
    const previous = store.getNumbers(key);
    const state = computeAverage(previous?.length === 3 ? previous : undefined, value, now, backlogMinutes);
    store.setNumbers(key, state);
    return state[2];
  },
});

/** Calls a `system` function, turning a refusal into a CheckError (failed). */
function fact(fn) {
  try {
    return fn();
  } catch (e) {
    throw CheckError.failed(hostMessage(e));
  }
}

/** Converts the u64 fields (BigInt in the bindings) of a record to numbers. */
function numbers(record) {
  return Object.fromEntries(
    Object.entries(record).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]),
  );
}

/**
 * Read-only facts about the machine, for local checks; each needs the
 * `system` grant, and fails with a CheckError (failed) without it.
 */
export const machine = Object.freeze({
  /** `{ one, five, fifteen, cpus }` */
  load: () => fact(() => system.load()),
  /** `{ memTotal, memFree, memAvailable, buffers, cached, swapTotal, swapFree }` in bytes */
  memory: () => numbers(fact(() => system.memory())),
  /** `[{ mountPoint, device, fsType, totalBytes, freeBytes, availableBytes, totalInodes, freeInodes }]` */
  filesystems: () => fact(() => system.filesystems()).map(numbers),
  /** Seconds since boot. */
  uptime: () => fact(() => system.uptime()),
});
