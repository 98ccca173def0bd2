/**
 * The contract's `check-error`, as an exception a check throws.
 *
 * @module errors
 */

/**
 * Why a check could not produce a result; the host maps each kind to
 * UNKNOWN and a message. Throw it from `check` or `discover`.
 *
 * The instance carries the WIT value as its own `payload` property, which is
 * what componentize-js's bindings send to the host for a thrown value, so
 * throwing it works with or without {@link defineCheck}.
 */
export class CheckError extends Error {
  /**
   * @param {'bad-params' | 'failed' | 'item-not-found'} kind
   * @param {string} [message] required for 'bad-params' and 'failed'
   */
  constructor(kind, message = '') {
    if (!['bad-params', 'failed', 'item-not-found'].includes(kind)) {
      throw new TypeError(`CheckError: unknown kind ${JSON.stringify(kind)}`);
    }
    super(kind === 'item-not-found' ? 'Item not found in monitoring data' : message);
    this.name = 'CheckError';
    /** The WIT case: 'bad-params', 'failed' or 'item-not-found'. */
    this.kind = kind;
    Object.defineProperty(this, 'payload', {
      value: kind === 'item-not-found' ? { tag: kind } : { tag: kind, val: String(message) },
      enumerable: false,
    });
  }

  /**
   * A parameter is missing or malformed; the message names it and what was
   * expected.
   *
   * @param {string} message
   * @returns {CheckError}
   */
  static badParams(message) {
    return new CheckError('bad-params', message);
  }

  /**
   * The check could not do its work for another reason.
   *
   * @param {string} message
   * @returns {CheckError}
   */
  static failed(message) {
    return new CheckError('failed', message);
  }

  /**
   * The item asked for is not in the monitoring data; the host reports the
   * standard text, so there is no message.
   *
   * @returns {CheckError}
   */
  static itemNotFound() {
    return new CheckError('item-not-found');
  }

  /**
   * The WIT value of this error: `{ tag, val }`.
   *
   * @returns {{ tag: string, val?: string }}
   */
  toWit() {
    return this.payload;
  }
}

/**
 * A bad-params error in the standard form
 * `parameter 'NAME': expected EXPECTED, got 'VALUE'`.
 *
 * @param {string} name
 * @param {string} expected
 * @param {string} got
 * @returns {CheckError}
 */
export function badParam(name, expected, got) {
  return CheckError.badParams(`parameter '${name}': expected ${expected}, got '${got}'`);
}

/**
 * A bad-params error in the form `parameter 'NAME': MESSAGE`, for what
 * {@link badParam}'s expected/got form does not fit.
 *
 * @param {string} name
 * @param {string} message
 * @returns {CheckError}
 */
export function invalidParam(name, message) {
  return CheckError.badParams(`parameter '${name}': ${message}`);
}
