/**
 * The pure half of the value store helpers: encodings and counter rates.
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
 * The rate from the previous sample `[time, counter]` to `(now, counter)`,
 * per second (Checkmk counter semantics); undefined when there is no rate
 * yet: no previous sample, the counter went backwards (a wrap or reset), or
 * no time passed.
 *
 * @param {[number, number] | undefined} previous
 * @param {number} counter
 * @param {number} now seconds
 * @returns {number | undefined}
 */
export function computeRate(previous, counter, now) {
  if (!previous) {
    return undefined;
  }
  const [lastTime, lastCounter] = previous;
  if (counter < lastCounter || now <= lastTime) {
    return undefined;
  }
  return (counter - lastCounter) / (now - lastTime);
}
