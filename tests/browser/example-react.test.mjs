// examples/react: a React component (StrictMode) that verifies two uploaded photos, with the
// package installed from its packed tarball, run twice: on Vite's dev server (dependency
// pre-bundling, StrictMode's double effects) and as a production build. Each time: a pair
// verified through the page's file inputs, one engine worker alive while the component is shown
// (StrictMode's first verifier disposed), none once it is closed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../tools/serve.mjs';
import { ROOT, SHARED, installPackage, needsShared, start, startVite } from './harness.mjs';

const APP = join(ROOT, 'build/examples-react');
const VITE = join(ROOT, 'node_modules/.bin/vite');
const PHOTOS = ['face_00_faceid.png', 'face_01_facematch_selected.png'].map((n) => join(SHARED, 'reference/mobilefacenet/inputs', n));

let env;
let dev;
let preview;
before(async () => {
  rmSync(APP, { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  // The example's sources; react, react-dom and vite resolve from the repository's devDependencies
  // (the app folder is under it), webverify from the tarball installed here.
  cpSync(join(ROOT, 'examples/react'), APP, { recursive: true, filter: (src) => !src.endsWith('package.json') });
  writeFileSync(join(APP, 'package.json'), JSON.stringify({ name: 'example-react-check', private: true, type: 'module' }));
  installPackage(APP);
  env = await start();
});
after(async () => {
  dev?.kill();
  preview?.close();
  await env?.close();
});

/** In the page, before it loads: every Worker started and terminated, counted. */
function countWorkers() {
  const Native = Worker;
  window.workers = { started: 0, terminated: 0 };
  window.Worker = class extends Native {
    constructor(...args) {
      super(...args);
      window.workers.started += 1;
    }
    terminate() {
      window.workers.terminated += 1;
      return super.terminate();
    }
  };
}

async function run(url) {
  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.setDefaultTimeout(300_000);
  try {
    await page.addInitScript(countWorkers);
    await page.goto(url);
    await page.waitForSelector('#verify');
    const ready = await page.evaluate(() => ({ ...window.workers, text: document.querySelector('section p').textContent }));
    await page.setInputFiles('#a', PHOTOS[0]);
    await page.setInputFiles('#b', PHOTOS[1]);
    await page.click('#verify');
    await page.waitForFunction(() => document.getElementById('result').textContent !== '');
    const result = await page.textContent('#result');
    await page.click('#toggle');
    await page.waitForFunction(() => !document.getElementById('verify'));
    const closed = await page.evaluate(() => ({ ...window.workers }));
    return { ready, result, closed, errors };
  } finally {
    await page.close();
  }
}

describe('examples/react from the packed tarball', { skip: needsShared() }, () => {
  /** Starts Vite's dev server on the app (with `config`, default the example's); its URL. */
  async function devServer(config) {
    dev?.kill();
    const started = await startVite(APP, config ? ['--config', config] : []);
    dev = started.child;
    return started.url;
  }

  test("Vite's dev server without the example's optimizeDeps.exclude: the error says what to add", async () => {
    writeFileSync(join(APP, 'vite.pre-bundled.config.js'), "export default { esbuild: { jsx: 'automatic' } };\n");
    const page = await env.browser.newPage();
    try {
      await page.goto(await devServer('vite.pre-bundled.config.js'));
      await page.waitForFunction(() => document.querySelector('[role=alert]'), null, { timeout: 120_000 });
      const alert = await page.textContent('[role=alert]');
      console.log(`vite dev, pre-bundled: ${alert}`);
      assert.match(alert, /^BACKEND_UNAVAILABLE: .*optimizeDeps: \{ exclude: \['webverify'\] \}/);
    } finally {
      await page.close();
    }
  });

  test("Vite's dev server, StrictMode: one engine alive, none after unmount, a pair verified", async () => {
    const r = await run(await devServer());
    console.log(`vite dev: ${JSON.stringify(r)}`);
    assert.match(r.ready.text, /Ready \(worker\)/);
    // StrictMode mounted twice: two engines started, the first disposed.
    assert.equal(r.ready.started - r.ready.terminated, 1, `alive workers: ${JSON.stringify(r.ready)}`);
    assert.match(r.result, /^same person/);
    assert.equal(r.closed.started - r.closed.terminated, 0, `alive after unmount: ${JSON.stringify(r.closed)}`);
    assert.deepEqual(r.errors, []);
  });

  test('production build: one engine, a pair verified, none after unmount', async () => {
    execFileSync(VITE, ['build', '--logLevel', 'warn'], { cwd: APP, stdio: 'pipe' });
    preview = await serve(join(APP, 'dist'), 0);
    const r = await run(`http://127.0.0.1:${preview.address().port}/`);
    console.log(`vite build: ${JSON.stringify(r)}`);
    assert.match(r.ready.text, /Ready \(worker\)/);
    assert.deepEqual([r.ready.started, r.ready.terminated], [1, 0]);
    assert.match(r.result, /^same person/);
    assert.equal(r.closed.started - r.closed.terminated, 0);
    assert.deepEqual(r.errors, []);
  });
});
