/**
 * Rendering values for summaries, following the output rules of Checkmk
 * guideline 5.5: one blank between value and unit, none before `%`.
 *
 * @module render
 */

/**
 * `value` with `decimals` digits after the point, without a sign on zero
 * (`-0.00` becomes `0.00`).
 *
 * @param {number} value
 * @param {number} decimals
 * @returns {string}
 */
export function float(value, decimals) {
  const s = value.toFixed(decimals);
  if (s.startsWith('-') && /^[0.]+$/.test(s.slice(1))) {
    return s.slice(1);
  }
  return s;
}

/** At most `decimals` digits, without trailing zeros or a trailing point. */
function trimmed(value, decimals) {
  const s = float(value, decimals);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * A size in bytes with binary units: `512 B`, `1.50 KiB`, `1.50 GiB`, up to
 * PiB.
 *
 * @param {number} value
 * @returns {string}
 */
export function bytes(value) {
  if (Math.abs(value) < 1024) {
    return `${float(value, 0)} B`;
  }
  let scaled = value / 1024;
  let unit = BYTE_UNITS[0];
  for (const next of BYTE_UNITS.slice(1)) {
    // Scale up only when the rounded figure would reach 1024.
    if (Math.round(Math.abs(scaled) * 100) / 100 < 1024) {
      break;
    }
    scaled /= 1024;
    unit = next;
  }
  return `${float(scaled, 2)} ${unit}`;
}

/**
 * A percentage (0-100) with up to two decimals and no blank: `89.5%`,
 * `100%`; a value that is not zero but rounds to zero shows as `<0.01%`.
 *
 * @param {number} value
 * @returns {string}
 */
export function percent(value) {
  if (value !== 0 && Math.abs(value) < 0.005) {
    return `${value < 0 ? '-' : ''}<0.01%`;
  }
  return `${trimmed(value, 2)}%`;
}

/**
 * A duration in seconds, in the unit that reads best: `850 µs`, `12 ms`,
 * `1.5 ms`, `1.20 s`, `5 min 3 s`, `2 h 5 min`, `3 d 4 h`.
 *
 * @param {number} value
 * @returns {string}
 */
export function seconds(value) {
  if (value < 0) {
    return `-${seconds(-value)}`;
  }
  if (value === 0) {
    return '0 s';
  }
  if (value < 0.000_999_5) {
    return `${float(value * 1e6, 0)} µs`;
  }
  if (value < 0.009_95) {
    return `${trimmed(value * 1e3, 1)} ms`;
  }
  if (value < 0.999_5) {
    return `${float(value * 1e3, 0)} ms`;
  }
  if (value < 59.995) {
    return `${float(value, 2)} s`;
  }
  const total = Math.round(value);
  const days = Math.floor(total / 86_400);
  const hours = Math.floor(total / 3600) % 24;
  const minutes = Math.floor(total / 60) % 60;
  const secs = total % 60;
  if (days > 0) {
    return `${days} d ${hours} h`;
  }
  if (hours > 0) {
    return `${hours} h ${minutes} min`;
  }
  return `${minutes} min ${secs} s`;
}
