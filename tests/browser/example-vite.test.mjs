// examples/vite: a plain Vite app with both packages (webverify and the companion
// webverify-training) installed from their packed tarballs, run on Vite's dev server (dependency
// pre-bundling: the example's optimizeDeps.exclude keeps each package beside its files) and as a
// production build served by `vite preview`. Each time: a pair verified through the page's file
// inputs and three fine-tuning steps with the training module the bundler emitted; the build on
// both backends (WebGPU on SwiftShader here), in the default worker mode.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SHARED, consoleErrors, driveExample, installPackage, needsShared, start, startVite } from './harness.mjs';

const APP = join(ROOT, 'build/examples-vite');
const PHOTOS = ['face_00_faceid.png', 'face_01_facematch_selected.png'].map((n) => join(SHARED, 'reference/mobilefacenet/inputs', n));

let env;
const servers = [];
before(async () => {
  rmSync(APP, { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  // vite resolves from the repository's devDependencies (the app folder is under it).
  cpSync(join(ROOT, 'examples/vite'), APP, { recursive: true, filter: (src) => !src.endsWith('package.json') });
  writeFileSync(join(APP, 'package.json'), JSON.stringify({ name: 'example-vite-check', private: true, type: 'module' }));
  installPackage(APP, { training: true });
  env = await start();
});
after(async () => {
  for (const s of servers) s.kill();
  await env?.close();
});

/** Opens the app at `url`, verifies the two photos, then fine-tunes on them. */
const verifyAndTune = (url) => driveExample(env.browser, url, PHOTOS, { tune: true });

function check(r, backend) {
  assert.match(r.ready, new RegExp(`^ready \\(worker, ${backend}`));
  assert.match(r.result, /^same person/);
  assert.match(r.tuned, /^tuned: 3 steps, loss \d/);
  assert.deepEqual(consoleErrors(r.console), []);
}

describe('examples/vite from the packed tarballs', { skip: needsShared() }, () => {
  test("Vite's dev server: a pair verified, fine-tuned", async () => {
    const dev = await startVite(APP);
    servers.push(dev.child);
    const r = await verifyAndTune(`${dev.url}?backend=cpu`);
    console.log(`vite dev: ${JSON.stringify(r)}`);
    check(r, 'flex');
    dev.child.kill();
  });

  test('vite build + vite preview: on both backends, a pair verified, fine-tuned', async () => {
    execFileSync(join(ROOT, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], { cwd: APP, stdio: 'pipe' });
    // The build emitted the training module (both builds) beside the package's own files.
    const assets = readdirSync(join(APP, 'dist/assets'));
    assert.equal(assets.filter((f) => /^webverify_bg-.*\.wasm$/.test(f)).length, 2, assets.join(' '));
    const preview = await startVite(APP, ['preview']);
    servers.push(preview.child);
    for (const [backend, name] of [['cpu', 'flex'], ['webgpu', 'webgpu']]) {
      const r = await verifyAndTune(`${preview.url}?backend=${backend}`);
      console.log(`vite build, ${backend}: ${JSON.stringify(r)}`);
      check(r, name);
    }
  });
});
