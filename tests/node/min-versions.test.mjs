// The browser-support table (README.md, pkg/README.md) is what tools/min-versions.mjs makes from
// MDN's compatibility data, it names every WebAssembly feature the built engine modules use,
// and the versions the package's own error messages quote (pkg/support.js) are the table's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { FEATURES, WASM_FEATURES_WITHOUT_ROW, WASM_FEATURE_KEYS, release, table, tableIn } from '../../tools/min-versions.mjs';

const ROOT = new URL('../../', import.meta.url);

test('README.md and pkg/README.md hold the table tools/min-versions.mjs makes', () => {
  for (const file of ['README.md', 'pkg/README.md']) {
    assert.equal(tableIn(new URL(file, ROOT)), table(), `${file}: paste the output of node tools/min-versions.mjs`);
  }
});

/** The names in a wasm module's `target_features` custom section. */
function targetFeatures(bytes) {
  let i = 8;
  const leb = () => {
    let r = 0, shift = 0, x;
    do { x = bytes[i++]; r |= (x & 0x7f) << shift; shift += 7; } while (x & 0x80);
    return r >>> 0;
  };
  while (i < bytes.length) {
    const id = bytes[i++];
    const end = leb() + i;
    if (id === 0) {
      const n = leb();
      const name = bytes.subarray(i, i + n).toString();
      i += n;
      if (name === 'target_features') {
        const features = [];
        for (let k = leb(); k > 0; k--) {
          i += 1; // the prefix: '+' used
          const m = leb();
          features.push(bytes.subarray(i, i + m).toString());
          i += m;
        }
        return features;
      }
    }
    i = end;
  }
  return null;
}

test('every WebAssembly feature the built engine modules use has a row', () => {
  // Both packages' modules: cpu in two builds, gpu in one, and the companion's full in two.
  const dirs = ['pkg/wasm/', 'pkg/wasm/relaxed/', 'pkg-training/wasm/', 'pkg-training/wasm/relaxed/'].map((d) => new URL(d, ROOT));
  const modules = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.wasm')).map((f) => new URL(f, d)));
  assert.equal(modules.length, 5, 'run make package first');
  for (const file of modules) {
    const features = targetFeatures(readFileSync(file));
    assert.ok(features, `${file.pathname} has no target_features section`);
    const unlisted = features.filter((f) => !(f in WASM_FEATURE_KEYS) && !WASM_FEATURES_WITHOUT_ROW.includes(f));
    assert.deepEqual(unlisted, [], `${file.pathname} uses WebAssembly features the table does not name`);
  }
});

test("the versions pkg/support.js's messages quote are the table's", () => {
  const text = readFileSync(new URL('pkg/support.js', ROOT), 'utf8');
  const byName = (name) => FEATURES.find((f) => f.name === name) ?? assert.fail(`no row ${name}`);
  const quoted = [
    ['WebAssembly SIMD128 is missing', byName('WebAssembly SIMD128').keys],
    ['WebAssembly reference types are missing', [WASM_FEATURE_KEYS['reference-types']]],
    ['module workers are missing', byName('Module workers').keys],
    ['OffscreenCanvas with a 2d context is missing', byName('OffscreenCanvas (2d)').keys],
    ['createImageBitmap is missing', byName('`createImageBitmap`').keys],
  ];
  for (const [message, keys] of quoted) {
    const m = text.match(new RegExp(`${message} \\(Chrome ([\\d.]+), Edge ([\\d.]+), Firefox ([\\d.]+), Safari ([\\d.]+) or later\\)`));
    assert.ok(m, `support.js quotes no versions after '${message}'`);
    assert.deepEqual(m.slice(1), ['chrome', 'edge', 'firefox', 'safari'].map((b) => release({ keys }, b).version), message);
  }
});
