// The npm tarballs as `npm pack` makes them (after `make package`): webverify (pkg/) and its
// companion webverify-training (pkg-training/), each exactly the files a user needs, the main one
// within the 10 MB budget; `npm publish --dry-run` without a warning; and `prepack`
// (tools/check-package.mjs) refusing a package whose engine or weights are missing, empty, stale
// or not the repository's, whose exports lack types, or whose companion is of another version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../../tools/scratch.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PKG = join(ROOT, 'pkg');
const TRAINING = join(ROOT, 'pkg-training');
const CHECK = join(ROOT, 'tools/check-package.mjs');

/** `npm pack --dry-run`'s report for the package in `dir`, checked against its `files`. */
function packed(dir, must) {
  const [report] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: dir, encoding: 'utf8' }));
  const paths = report.files.map((f) => f.path).sort();
  const { files } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  assert.deepEqual(paths, [...files, 'package.json'].sort());
  for (const file of must) assert.ok(paths.includes(file), file);
  console.log(`${report.name}: tarball ${report.size} bytes, unpacked ${report.unpackedSize} bytes, ${report.entryCount} files`);
  return report;
}

test('webverify: the declared files and nothing else, within the 10 MB budget', () => {
  const report = packed(PKG, ['wasm/webverify_cpu_bg.wasm', 'wasm/relaxed/webverify_cpu_bg.wasm', 'wasm/webverify_gpu_bg.wasm', 'wasm/webverify.js', 'models/mobilefacenet-int8.safetensors', 'models/blazeface-short.safetensors', 'models/minifasnet-v1se-f16.safetensors', 'models/facemesh.safetensors', 'asset.d.ts', 'README.md', 'LICENSE']);
  // The full module and the f32 weights are the companion's; the gpu module has one build.
  for (const file of ['wasm/webverify_bg.wasm', 'wasm/relaxed/webverify_bg.wasm', 'wasm/relaxed/webverify_gpu_bg.wasm', 'models/mobilefacenet.safetensors']) {
    assert.ok(!report.files.some((f) => f.path === file), `${file} is not in the main package`);
  }
  // The cpu module in two builds (3.1 + 3.0 MB), the gpu module (26.4 MB with burn's fusion since
  // issue 31; 19.8 before), the glues, and 3.8 MB of weights: 9.20 MB packed, 36.9 MB unpacked on
  // 2026-12-07 (8.17 MB before fusion). The budget is 10 MB.
  assert.ok(report.size <= 10e6, `tarball ${report.size}`);
  assert.ok(report.unpackedSize < 40e6, `unpacked ${report.unpackedSize}`);
});

test('webverify-training: the full module in two builds and the f32 weights', () => {
  const report = packed(TRAINING, ['index.js', 'index.d.ts', 'wasm/webverify_bg.wasm', 'wasm/relaxed/webverify_bg.wasm', 'models/mobilefacenet.safetensors', 'models/README.md', 'README.md', 'LICENSE']);
  // 29.9 + 27.5 MB of module and 5.2 MB of weights: 14.0 MB packed on 2026-12-07.
  assert.ok(report.size < 15e6, `tarball ${report.size}`);
});

test('npm publish --dry-run: both packages publish without a warning', () => {
  // A placeholder token, as setup-node's NODE_AUTH_TOKEN gives in the release workflow: without
  // any, npm warns that publishing needs a login, which is about credentials, not the package.
  const home = scratchDir('webverify-publish-');
  try {
    const npmrc = join(home, '.npmrc');
    writeFileSync(npmrc, '//registry.npmjs.org/:_authToken=placeholder-for-dry-run\n');
    for (const dir of [PKG, TRAINING]) {
      const run = spawnSync('npm', ['publish', '--dry-run', '--access', 'public', '--userconfig', npmrc], { cwd: dir, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const warnings = run.stderr.split('\n').filter((l) => /^npm (warn|error)/i.test(l));
      assert.deepEqual(warnings, [], `${dir}: ${warnings.join('\n')}`);
      assert.match(run.stdout + run.stderr, /\+ webverify(-training)?@0\.1\.0/);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('prepack refuses a missing, empty, stale or foreign engine or weights file, untyped exports, a companion of another version', () => {
  assert.equal(spawnSync('node', [CHECK, PKG]).status, 0, 'the built package passes');
  assert.equal(spawnSync('node', [CHECK, TRAINING]).status, 0, 'the built companion passes');
  const copy = scratchDir('webverify-pack-');
  const refused = (from, change, why) => {
    rmSync(copy, { recursive: true, force: true });
    cpSync(from, copy, { recursive: true });
    change(copy);
    const run = spawnSync('node', [CHECK, copy], { encoding: 'utf8' });
    assert.equal(run.status, 1, `${why}: ${run.stderr}`);
    assert.match(run.stderr, /not ready to pack/);
    return run.stderr;
  };
  const edit = (file, f) => (d) => writeFileSync(join(d, file), f(readFileSync(join(d, file), 'utf8')));
  try {
    refused(PKG, (d) => rmSync(join(d, 'wasm/webverify_cpu_bg.wasm')), 'missing wasm');
    refused(PKG, (d) => writeFileSync(join(d, 'models/blazeface-short.safetensors'), ''), 'empty weights');
    refused(PKG, (d) => utimesSync(join(d, 'wasm/relaxed/webverify_cpu_bg.wasm'), new Date(0), new Date(0)), 'stale wasm');
    refused(PKG, (d) => {
      const w = readFileSync(join(d, 'models/mobilefacenet-int8.safetensors'));
      w[w.length - 1] ^= 1;
      writeFileSync(join(d, 'models/mobilefacenet-int8.safetensors'), w);
    }, 'weights that are not the repository\'s');
    assert.match(refused(PKG, edit('package.json', (t) => t.replace('"types": "./asset.d.ts",', '')), 'an export without types'), /exports\['\.\/models\/\*\.safetensors'\] has no types/);
    refused(TRAINING, (d) => rmSync(join(d, 'wasm/relaxed/webverify_bg.wasm')), 'the companion without its relaxed build');
    assert.match(refused(TRAINING, edit('index.js', (t) => t.replace("VERSION = '0.1.0'", "VERSION = '0.1.1'")), 'index.js of another version'), /index\.js says 0\.1\.1/);
    assert.match(refused(TRAINING, edit('package.json', (t) => t.replace('"webverify": "0.1.0"', '"webverify": "^0.1.0"')), 'a loose peer'), /not released at webverify's version/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
