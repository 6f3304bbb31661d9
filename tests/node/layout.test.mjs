// Which module of the package may import which (the JavaScript side of tests/layout.rs). The
// page side (what `import 'webverify'` loads) must never pull in the host side statically: in
// worker mode the engine, the wasm glue and the loaders belong to the worker alone, and inline
// mode loads the host on first use (transport.js's dynamic import).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

const PKG = new URL('../../pkg/', import.meta.url);

/** What each module may import (static `import … from`, `export … from`, and dynamic
 * `import('…')`), by file name; wasm/ is the generated glue. */
const ALLOWED = {
  // The page side.
  'index.js': ['binding.js', 'challenge.js', 'errors.js', 'gallery.js', 'input.js', 'protocol.js', 'store.js', 'support.js', 'transport.js'],
  'gallery.js': ['binding.js', 'errors.js', 'input.js', 'protocol.js'],
  'transport.js': ['assets.js', 'errors.js', 'host.js', 'input.js'],
  'binding.js': ['errors.js'],
  'challenge.js': ['errors.js', 'input.js'],
  'store.js': ['errors.js'],
  // The host side (in the worker, or inline once the first call loads it).
  'worker.js': ['host.js', 'input.js', 'recovery.js'],
  'host.js': ['assets.js', 'cache.js', 'constants.js', 'engine-host.js', 'file-sizes.js', 'errors.js', 'gallery-host.js', 'input.js', 'loading.js', 'protocol.js', 'recovery.js', 'support.js', 'version.js', 'wasm/webverify.js', 'wasm/webverify_cpu.js', 'wasm/webverify_gpu.js'],
  'engine-host.js': ['assets.js', 'cache.js', 'constants.js', 'errors.js', 'gallery-host.js', 'input.js', 'loading.js', 'protocol.js', 'recovery.js'],
  'gallery-host.js': ['errors.js', 'input.js', 'protocol.js', 'recovery.js'],
  'loading.js': ['assets.js', 'cache.js', 'errors.js', 'file-sizes.js', 'support.js', 'version.js', 'wasm/webverify.js', 'wasm/webverify_cpu.js', 'wasm/webverify_gpu.js'],
  'recovery.js': ['errors.js'],
  'cache.js': ['version.js'],
  // Shared leaves.
  'input.js': ['errors.js'],
  'support.js': ['errors.js'],
  'errors.js': [],
  'constants.js': [],
  'assets.js': ['errors.js'],
  'file-sizes.js': [],
  'protocol.js': [],
  'version.js': [],
};
const HOST_SIDE = ['host.js', 'engine-host.js', 'gallery-host.js', 'loading.js', 'recovery.js', 'cache.js'];

/** `{ static: [...], dynamic: [...] }` relative imports of one module. */
function importsOf(file) {
  const text = readFileSync(new URL(file, PKG), 'utf8');
  const statics = [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'\.\/([^']+)'/gms)].map((m) => m[1]);
  const bare = [...text.matchAll(/^import\s+'\.\/([^']+)'/gm)].map((m) => m[1]);
  const dynamic = [...text.matchAll(/import\(\s*'\.\/([^']+)'\s*\)/g)].map((m) => m[1]);
  return { static: [...new Set([...statics, ...bare])], dynamic };
}

const modules = readdirSync(PKG).filter((f) => f.endsWith('.js'));

test('every module of the package has a row in the table', () => {
  assert.deepEqual(modules.filter((f) => !(f in ALLOWED)), []);
});

test('each module imports only what its row allows', () => {
  for (const file of modules) {
    const { static: s, dynamic } = importsOf(file);
    const extra = [...s, ...dynamic].filter((m) => !ALLOWED[file].includes(m));
    assert.deepEqual(extra, [], `${file} imports ${extra.join(', ')}`);
  }
});

test('what a page imports statically holds none of the host side', () => {
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of importsOf(file).static) walk(m);
  };
  walk('index.js');
  assert.deepEqual([...seen].filter((f) => HOST_SIDE.includes(f) || f.startsWith('wasm/')), []);
});

test('the parser sees every form of import the package uses', () => {
  // index.js re-exports store.js (`export { … } from`), transport.js imports the host
  // dynamically: a parser that missed either would pass the tests above vacuously.
  assert.ok(importsOf('index.js').static.includes('store.js'));
  assert.deepEqual(importsOf('transport.js').dynamic, ['host.js']);
});

test("host.js requests its whole module graph itself (one round trip, not one per level)", () => {
  const below = new Set();
  const walk = (file) => {
    for (const m of importsOf(file).static) {
      if (below.has(m) || m.startsWith('wasm/')) { below.add(m); continue; }
      below.add(m);
      walk(m);
    }
  };
  walk('host.js');
  assert.deepEqual(importsOf('host.js').static.sort(), [...below].sort());
});
