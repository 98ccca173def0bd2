/**
 * Node.js module hooks that stand in for the host's WIT imports
 * (`wasmon:check/log`, `value-store`, `system`), so that `host.js` can be
 * unit-tested natively. The fakes keep their state in `globalThis.wasmonFake`
 * and throw what the component bindings throw for an `err` result: an object
 * with the host's message as `payload`.
 */

const SOURCES = {
  log: `export function log(level, message) { globalThis.wasmonFake.logs.push([level, message]); }`,
  'value-store': `
    const fake = () => globalThis.wasmonFake;
    export function get(key) { return fake().store.get(key); }
    export function set(key, value) {
      if (value.length > 65536) { throw Object.assign(new Error('x'), { payload: 'value of ' + value.length + ' bytes exceeds 64 KiB' }); }
      fake().store.set(key, new Uint8Array(value));
    }
    function remove(key) { fake().store.delete(key); }
    export { remove as delete };`,
  system: `
    const fake = () => globalThis.wasmonFake;
    function granted() { if (!fake().system) { throw Object.assign(new Error('x'), { payload: 'the system interface is not granted to this check' }); } }
    export function load() { granted(); return { one: 0.5, five: 0.25, fifteen: 0.125, cpus: 2 }; }
    export function memory() { granted(); return { memTotal: 8n * 1024n ** 3n, memFree: 1n, memAvailable: 2n, buffers: 3n, cached: 4n, swapTotal: 0n, swapFree: 0n }; }
    export function filesystems() { granted(); return [{ mountPoint: '/', device: '/dev/sda1', fsType: 'ext4', totalBytes: 100n, freeBytes: 40n, availableBytes: 30n, totalInodes: 10n, freeInodes: 5n }]; }
    export function uptime() { granted(); return 1234.5; }`,
};

/** Sends `wasmon:check/*@0.1.0` to the fakes. */
export async function resolve(specifier, context, next) {
  const m = /^wasmon:check\/([a-z-]+)@0\.1\.0$/.exec(specifier);
  if (m && SOURCES[m[1]]) {
    return { url: `wasmon-fake:${m[1]}`, shortCircuit: true };
  }
  return next(specifier, context);
}

/** Serves the fakes' source. */
export async function load(url, context, next) {
  if (url.startsWith('wasmon-fake:')) {
    return { format: 'module', source: SOURCES[url.slice('wasmon-fake:'.length)], shortCircuit: true };
  }
  return next(url, context);
}
