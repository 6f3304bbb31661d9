// examples/nextjs: a Next.js App Router app (Turbopack) with the package installed from its
// packed tarball: `next build` prerenders the page, whose client component imports webverify
// on the server too (the package must do nothing when imported), `next start` serves it, the
// server-rendered HTML carries the page, and in Chromium the component verifies two photos given
// to its file inputs, in the default worker mode. next, react and react-dom resolve from the
// repository's devDependencies (the app folder is under it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SHARED, freePort, installPackage, needsShared, start } from './harness.mjs';

const APP = join(ROOT, 'build/examples-nextjs');
const NEXT = join(ROOT, 'node_modules/.bin/next');
const PHOTOS = ['face_00_faceid.png', 'face_01_facematch_selected.png'].map((n) => join(SHARED, 'reference/mobilefacenet/inputs', n));
const ENV = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

let env;
let server;
let serverLog = '';
before(async () => {
  rmSync(APP, { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  cpSync(join(ROOT, 'examples/nextjs'), APP, { recursive: true, filter: (src) => !src.endsWith('package.json') });
  writeFileSync(join(APP, 'package.json'), JSON.stringify({ name: 'example-nextjs-check', private: true }));
  installPackage(APP);
  env = await start();
});
after(async () => {
  server?.kill();
  await env?.close();
});

test('Next.js: next build prerenders it, next start serves it, the client component verifies a pair', { skip: needsShared() }, async () => {
  const build = execFileSync(NEXT, ['build'], { cwd: APP, env: ENV, encoding: 'utf8' });
  assert.match(build, /Compiled successfully/);
  assert.match(build, /○ \//, 'the page was prerendered (the package imported on the server)');
  const port = await freePort();
  server = spawn(NEXT, ['start', '-p', String(port), '-H', '127.0.0.1'], { cwd: APP, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => { serverLog += d; });
  server.stderr.on('data', (d) => { serverLog += d; });
  const url = `http://127.0.0.1:${port}/`;
  let html;
  for (let i = 0; i < 100 && html === undefined; i++) {
    html = await fetch(url).then((r) => (r.ok ? r.text() : undefined), () => undefined);
    if (html === undefined) await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(html ?? '', /Same person\?/, 'the server-rendered page');

  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon|404 \(Not Found\)/.test(m.text())) errors.push(m.text()); });
  page.setDefaultTimeout(300_000);
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('result').textContent !== 'loading…');
  const ready = await page.textContent('#result');
  await page.setInputFiles('#a', PHOTOS[0]);
  await page.setInputFiles('#b', PHOTOS[1]);
  await page.click('#verify');
  await page.waitForFunction(() => !/^ready/.test(document.getElementById('result').textContent));
  const result = await page.textContent('#result');
  console.log(`nextjs: ${ready}; ${result}`);
  assert.match(ready, /^ready \(worker, flex/);
  assert.match(result, /^same person/);
  assert.deepEqual(errors, []);
  assert.doesNotMatch(serverLog, /error/i, serverLog);
  await page.close();
});
