/**
 * Reading and writing decimal numbers the way the Rust SDK and the host do,
 * so a check in JavaScript prints the same perfdata and accepts the same
 * parameter values as one in Rust.
 *
 * @module number
 */

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a finite decimal number: `12`, `-1.5`, `.5`, `1e3`. Unlike
 * `Number()`, it refuses the empty string, hexadecimal, `Infinity` and
 * `NaN`. Blanks around the text are not allowed (trim first).
 *
 * @param {string} text
 * @returns {number | undefined} the number, or undefined when `text` is not one
 */
export function parseNumber(text) {
  if (typeof text !== 'string' || !DECIMAL.test(text)) {
    return undefined;
  }
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Parses an integer (`80`, `+80`, `-3`), or returns undefined.
 *
 * @param {string} text
 * @returns {number | undefined}
 */
export function parseInteger(text) {
  if (typeof text !== 'string' || !/^[+-]?\d+$/.test(text)) {
    return undefined;
  }
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Writes a number in its shortest decimal form without an exponent and
 * without a sign on zero, as Rust's `Display` for `f64` does: `10`, `0.5`,
 * `0.0000001`, `1000000000000000000000`.
 *
 * @param {number} value
 * @returns {string}
 */
export function formatNumber(value) {
  if (value === 0) {
    return '0';
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? 'inf' : value < 0 ? '-inf' : 'NaN';
  }
  const text = String(value);
  const e = text.indexOf('e');
  if (e < 0) {
    return text;
  }
  // Expand "d.ddde±x" by moving the point.
  const sign = text.startsWith('-') ? '-' : '';
  const mantissa = text.slice(sign.length, e);
  const exponent = Number(text.slice(e + 1));
  const [whole, fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let out;
  if (point <= 0) {
    out = `0.${'0'.repeat(-point)}${digits}`;
  } else if (point >= digits.length) {
    out = digits + '0'.repeat(point - digits.length);
  } else {
    out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return sign + out;
}
