/**
 * The pure half of the value store helpers: encodings, rates and averages.
 * The host calls are in `host.js`.
 *
 * @module store
 */

/**
 * Encodes numbers as consecutive little-endian f64s (the Rust SDK's format).
 *
 * @param {number[]} values
 * @returns {Uint8Array}
 */
export function encodeNumbers(values) {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  return bytes;
}

/**
 * Decodes what {@link encodeNumbers} wrote; undefined if the length is not a
 * multiple of 8.
 *
 * @param {Uint8Array} bytes
 * @returns {number[] | undefined}
 */
export function decodeNumbers(bytes) {
  if (bytes.length % 8 !== 0) {
    return undefined;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
}

/**
 * What {@link computeRateWith} and `store.rateWith` do when the value went
 * down since the last sample (Checkmk's `raise_overflow` argument of
 * `get_rate`).
 *
 * @readonly
 * @enum {string}
 */
export const Overflow = Object.freeze({
  /**
   * The rate is negative (Checkmk's default, `raise_overflow=False`): for
   * values that may go down, such as a queue length or a byte count.
   */
  NEGATIVE: 'negative',
  /**
   * There is no rate (Checkmk's `raise_overflow=True`): a counter that went
   * down wrapped or was reset, so it starts over from this sample. What
   * `store.rate` does.
   */
  RAISE: 'raise',
});

/**
 * The rate from the previous sample `[time, counter]` to `(now, counter)`,
 * per second (Checkmk counter semantics); undefined when there is no rate
 * yet: no previous sample, the counter went backwards (a wrap or reset), or
 * no time passed. The same as {@link computeRateWith} with
 * {@link Overflow.RAISE}.
 *
 * @param {[number, number] | undefined} previous
 * @param {number} counter
 * @param {number} now seconds
 * @returns {number | undefined}
 */
export function computeRate(previous, counter, now) {
  return computeRateWith(previous, counter, now, Overflow.RAISE);
}

/**
 * The rate from the previous sample `[time, value]` to `(now, value)` per
 * second, as Checkmk's `get_rate(value_store, key, time, value,
 * raise_overflow=...)`: `(value - last) / (now - lastTime)`, negative when the
 * value went down unless `overflow` is {@link Overflow.RAISE}. Undefined where
 * Checkmk raises `GetRateError`: no previous sample, no time passed, or with
 * {@link Overflow.RAISE} the value went down.
 *
 * @param {[number, number] | undefined} previous
 * @param {number} value
 * @param {number} now seconds
 * @param {Overflow} overflow
 * @returns {number | undefined}
 */
export function computeRateWith(previous, value, now, overflow) {
  if (overflow !== Overflow.NEGATIVE && overflow !== Overflow.RAISE) {
    throw new TypeError(`not an Overflow: ${JSON.stringify(overflow)} (use Overflow.NEGATIVE or Overflow.RAISE)`);
  }
  if (!previous) {
    return undefined;
  }
  const [lastTime, lastValue] = previous;
  if (now <= lastTime) {
    return undefined;
  }
  const rate = (value - lastValue) / (now - lastTime);
  if (rate < 0 && overflow === Overflow.RAISE) {
    return undefined;
  }
  return rate;
}

/**
 * The next state `[startTime, lastTime, average]` of an exponential moving
 * average from the previous one, for the new `value` at `now`; the average
 * is the last element. `store.average` keeps the state in the value store.
 *
 * The formula of Checkmk's `get_average` (agent-based API v2,
 * `packages/cmk-agent-based/cmk/agent_based/v2/_get_average.py` in
 * github.com/Checkmk/checkmk, commit d3754c3427c6):
 * - no previous state: `[now, now, value]`;
 * - `now <= lastTime`: the previous state, unchanged;
 * - otherwise, with the horizon `h = backlogMinutes * 60` capped at the time
 *   since the first value, `now - startTime` (so the first value gets no
 *   undue weight), and `k = h / (now - lastTime)` values in the horizon, the
 *   weight `w = 0.5 ** (1 / k)` makes the horizon count for half of the
 *   average: `average = (1 - w) * value + w * lastAverage`.
 *
 * @param {[number, number, number] | undefined} previous
 * @param {number} value
 * @param {number} now seconds
 * @param {number} backlogMinutes the averaging horizon
 * @returns {[number, number, number]}
 */
export function computeAverage(previous, value, now, backlogMinutes) {
  if (!previous) {
    return [now, now, value];
  }
  const [startTime, lastTime, lastAverage] = previous;
  const timeDiff = now - lastTime;
  if (timeDiff <= 0) {
    return [startTime, lastTime, lastAverage];
  }
  const sinceStart = now - startTime;
  const horizon = backlogMinutes * 60;
  const backlogCount = horizon < sinceStart ? horizon / timeDiff : sinceStart / timeDiff;
  const weight = (1 - 0.5) ** (1 / backlogCount);
  return [startTime, now, (1 - weight) * value + weight * lastAverage];
}
