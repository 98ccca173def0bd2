// Builds every JavaScript check (checks/js/<name>/check.js) into
// OUTDIR/<name>.wasm with componentize-js; run through build.sh.
//
// A component is cached in node_modules/.cache/wasmon-js/ under the sha256
// of everything it is built from (the check's folder, sdk/js/*.js, wit/check.wit,
// the lock file and this script), so a re-run without changes only hashes and copies.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const cacheDir = join(here, 'node_modules', '.cache', 'wasmon-js');

/**
 * componentize-js options shared by every check. World `check` is complete
 * in wit/check.wit; the folder's other files (handler worlds) are not read.
 */
const OPTIONS = {
  witPath: join(root, 'wit', 'check.wit'),
  worldName: 'check',
  // Checks export no wasi:http/incoming-handler; everything else stays:
  // stdio (console.* goes to the host's captured stderr), random, clocks
  // (timers, performance.now) and http (fetch through wasi:http).
  disableFeatures: ['fetch-event'],
};

/** Files under `dir` (recursively), sorted, skipping `skip(path)` ones. */
async function files(dir, skip = () => false) {
  const out = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (skip(path, entry)) continue;
    if (entry.isDirectory()) out.push(...(await files(path, skip)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Tests and their support files do not go into a component. */
const notShipped = (path, entry) =>
  entry.name === 'node_modules' ||
  (entry.isDirectory() && ['test', 'support'].includes(entry.name)) ||
  /\.test\.m?js$/.test(entry.name);

/** The sha256 over the paths and contents of `paths`, and extra text. */
async function digest(paths, extra) {
  const hash = createHash('sha256');
  hash.update(extra);
  for (const path of paths) {
    hash.update(`\0${relative(root, path)}\0`);
    hash.update(await readFile(path));
  }
  return hash.digest('hex').slice(0, 32);
}

async function exists(path) {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function main() {
  const outDir = resolve(process.argv[2]);
  await mkdir(outDir, { recursive: true });
  await mkdir(cacheDir, { recursive: true });

  // Loading componentize-js takes longer than hashing: only when needed.
  const { version } = JSON.parse(
    await readFile(join(here, 'node_modules', '@bytecodealliance', 'componentize-js', 'package.json'), 'utf8'),
  );
  let componentize;
  const shared = [
    ...(await files(join(root, 'sdk', 'js'), notShipped)).filter((f) => f.endsWith('.js')),
    OPTIONS.witPath,
    join(here, 'package-lock.json'),
    fileURLToPath(import.meta.url),
  ];

  const names = [];
  for (const entry of await readdir(here, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== 'node_modules' && (await exists(join(here, entry.name, 'check.js')))) {
      names.push(entry.name);
    }
  }
  names.sort();
  if (names.length === 0) {
    throw new Error(`no checks found: expected ${here}/<name>/check.js`);
  }

  // componentize-js maps the current directory into the engine, so the
  // checks' relative imports of ../../../sdk/js resolve from the repository.
  process.chdir(root);
  for (const name of names) {
    const dir = join(here, name);
    const key = await digest([...(await files(dir, notShipped)), ...shared], `${version}\0${JSON.stringify(OPTIONS)}`);
    const cached = join(cacheDir, `${name}-${key}.wasm`);
    const target = join(outDir, `${name}.wasm`);
    if (await exists(cached)) {
      console.error(`${name}: unchanged (${relative(root, cached)})`);
    } else {
      const started = Date.now();
      componentize ??= (await import('@bytecodealliance/componentize-js')).componentize;
      const sourcePath = join(dir, 'check.js');
      const { component } = await componentize({ ...OPTIONS, sourcePath }).catch((e) => {
        // componentize-js reports a syntax error without saying where.
        const syntax = spawnSync(process.execPath, ['--check', sourcePath], { encoding: 'utf8' });
        const where = syntax.status === 0 ? '' : `\n${syntax.stderr.trim()}`;
        throw new Error(`${name}: componentize-js failed: ${e?.stack ?? e}${where}`);
      });
      const partial = `${cached}.${process.pid}.tmp`;
      await writeFile(partial, component);
      await rename(partial, cached);
      const mib = (component.length / 1024 / 1024).toFixed(1);
      console.error(`${name}: built with componentize-js ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s (${mib} MiB)`);
    }
    await copyFile(cached, target);
  }
}

main().catch((e) => {
  console.error(`checks/js/build.sh: ${e?.stack ?? e}`);
  process.exit(1);
});
