// The examples that are plain pages (and webpack's, whose page is one), run from the packed
// tarball as a user would ship it:
// - examples/cdn: the page on one origin imports the package from another (a second local server
//   standing in for a CDN, sending CORS headers); the default worker mode must work and verify a
//   pair of photos given to the page's file inputs;
// - examples/csp: the page and the package on one origin under the strict policy its index.html
//   documents, sent as a header on every file: no violation, a verified pair; and the same policy
//   without 'wasm-unsafe-eval': BACKEND_UNAVAILABLE naming the policy, not INTERNAL;
// - examples/webpack: a webpack 5 production build of an app that installed the tarball and the
//   companion's (webpack from the repository's devDependencies); no warning, a verified pair in
//   the default worker mode, then fine-tuning on the pair with the training module webpack
//   emitted from webverify-training.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../tools/serve.mjs';
import { ROOT, SHARED, consoleErrors, driveExample, installPackage, needsShared, start } from './harness.mjs';

const WORK = join(ROOT, 'build/examples-static');
const PACKAGE = join(WORK, 'package');
const POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; img-src 'self' blob: data:; style-src 'self'";
const PHOTOS = ['face_00_faceid.png', 'face_01_facematch_selected.png'].map((n) => join(SHARED, 'reference/mobilefacenet/inputs', n));

let env;
let tarball;
const servers = [];
before(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  writeFileSync(join(WORK, 'package.json'), JSON.stringify({ name: 'examples-static-check', private: true }));
  tarball = installPackage(WORK);
  // The package as a CDN or a static folder holds it: the tarball's files.
  execFileSync('tar', ['xzf', tarball], { cwd: WORK });
  env = await start();
});
after(async () => {
  for (const s of servers) s.close();
  await env?.close();
});

async function served(dir, headers) {
  const server = await serve(dir, 0, '127.0.0.1', { headers });
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}/`;
}

/** Opens the example page at `url` and verifies the two photos (`tune`: then fine-tunes). */
const verifyOn = (url, options) => driveExample(env.browser, url, PHOTOS, options);

describe('examples as pages, from the packed tarball', { skip: needsShared() }, () => {
  test('webpack: a production build with the companion package, the default worker mode', async () => {
    const app = join(WORK, 'webpack');
    mkdirSync(app, { recursive: true });
    cpSync(join(ROOT, 'examples/webpack'), app, { recursive: true, filter: (src) => !src.endsWith('package.json') });
    // webpack resolves from the repository's devDependencies (the app folder is under it).
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'example-webpack-check', private: true, type: 'module' }));
    installPackage(app, { training: true });
    const log = execFileSync(join(ROOT, 'node_modules/.bin/webpack'), ['--mode', 'production'], { cwd: app, encoding: 'utf8' });
    assert.doesNotMatch(log, /WARNING|ERROR/, log);
    copyFileSync(join(app, 'index.html'), join(app, 'dist/index.html'));
    const r = await verifyOn(await served(join(app, 'dist')), { tune: true });
    console.log(`webpack: ${r.ready}; ${r.result}; ${r.tuned}`);
    assert.match(r.ready, /^ready \(worker, flex/);
    assert.match(r.result, /^same person/);
    assert.match(r.tuned, /^tuned: 3 steps, loss \d/);
    assert.deepEqual(consoleErrors(r.console), []);
  });

  test('cdn: the package from another origin, in its default worker mode', async () => {
    const cdn = await served(PACKAGE, { 'access-control-allow-origin': '*' });
    const site = await served(join(ROOT, 'examples/cdn'));
    const r = await verifyOn(`${site}?cdn=${encodeURIComponent(cdn)}`);
    console.log(`cdn: ${r.ready}; ${r.result}`);
    assert.match(r.ready, /^ready \(worker, flex/);
    assert.match(r.result, /^same person/);
    assert.deepEqual(consoleErrors(r.console), []);
  });

  test('csp: the documented policy runs it; without wasm-unsafe-eval, BACKEND_UNAVAILABLE names the policy', async () => {
    const dir = join(WORK, 'csp');
    cpSync(join(ROOT, 'examples/csp'), dir, { recursive: true });
    cpSync(PACKAGE, join(dir, 'webverify'), { recursive: true });
    const r = await verifyOn(await served(dir, { 'content-security-policy': POLICY }));
    console.log(`csp: ${r.ready}; ${r.result}`);
    assert.match(r.ready, /^ready \(worker, flex/);
    assert.match(r.result, /^same person/);
    assert.deepEqual(r.console.filter((l) => /Content Security Policy|^pageerror/.test(l)), []);

    const strict = await verifyOn(await served(dir, { 'content-security-policy': POLICY.replace(" 'wasm-unsafe-eval'", '') }));
    console.log(`csp without wasm-unsafe-eval: ${strict.ready}`);
    assert.match(strict.ready, /^BACKEND_UNAVAILABLE: .*Content-Security-Policy forbids compiling WebAssembly.*'wasm-unsafe-eval'/);
  });
});
