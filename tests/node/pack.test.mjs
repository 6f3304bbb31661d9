// The npm tarball as `npm pack` makes it from pkg/ (after `make package`): exactly the files a user
// needs, within a size bound, and `prepack` (tools/check-package.mjs) refusing a package whose
// engine or weights are missing, empty, stale or not the repository's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PKG = join(ROOT, 'pkg');
const CHECK = join(ROOT, 'tools/check-package.mjs');

test('npm pack gives the declared files and nothing else, within the size bound', () => {
  const [report] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: PKG, encoding: 'utf8' }));
  const packed = report.files.map((f) => f.path).sort();
  const { files } = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));
  assert.deepEqual(packed, [...files, 'package.json'].sort());
  for (const must of ['wasm/webverify_bg.wasm', 'wasm/relaxed/webverify_bg.wasm', 'wasm/webverify_gpu_bg.wasm', 'wasm/relaxed/webverify_gpu_bg.wasm', 'wasm/webverify_cpu_bg.wasm', 'wasm/relaxed/webverify_cpu_bg.wasm', 'models/mobilefacenet-int8.safetensors', 'models/mobilefacenet.safetensors', 'models/blazeface-short.safetensors', 'models/minifasnet-v1se-f16.safetensors', 'models/facemesh.safetensors', 'README.md', 'LICENSE']) {
    assert.ok(packed.includes(must), must);
  }
  console.log(`tarball ${report.size} bytes, unpacked ${report.unpackedSize} bytes, ${report.entryCount} files`);
  // Three modules in two builds each (full 29.9 + 27.5 MB, gpu 19.8 + 18.1 MB, cpu 3.2 + 3.0 MB,
  // without their name sections since issue 26), 9.0 MB of weights (f32 and int8 embedder,
  // detector, face mesh, liveness): 110.9 MB unpacked and 25.4 MB packed on 2026-12-07; bounds that
  // a stray file, or the name sections back, would break.
  assert.ok(report.unpackedSize < 116e6, `unpacked ${report.unpackedSize}`);
  assert.ok(report.size < 27e6, `tarball ${report.size}`);
});

test('prepack refuses a missing, empty, stale or foreign engine or weights file', () => {
  assert.equal(spawnSync('node', [CHECK, PKG]).status, 0, 'the built package passes');
  const copy = mkdtempSync(join(tmpdir(), 'webverify-pack-'));
  const refused = (change, why) => {
    rmSync(copy, { recursive: true, force: true });
    cpSync(PKG, copy, { recursive: true });
    change(copy);
    const run = spawnSync('node', [CHECK, copy], { encoding: 'utf8' });
    assert.equal(run.status, 1, `${why}: ${run.stdout}`);
    assert.match(run.stderr, /not ready to pack/);
  };
  try {
    refused((d) => rmSync(join(d, 'wasm/webverify_bg.wasm')), 'missing wasm');
    refused((d) => writeFileSync(join(d, 'models/blazeface-short.safetensors'), ''), 'empty weights');
    refused((d) => utimesSync(join(d, 'wasm/relaxed/webverify_cpu_bg.wasm'), new Date(0), new Date(0)), 'stale wasm');
    refused((d) => {
      const w = readFileSync(join(d, 'models/mobilefacenet.safetensors'));
      w[w.length - 1] ^= 1;
      writeFileSync(join(d, 'models/mobilefacenet.safetensors'), w);
    }, 'weights that are not the repository\'s');
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
