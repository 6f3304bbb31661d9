// `npm install` + `import` as a user does it: pack pkg/ into a tarball, install it into the
// minimal app of tests/vite-app, build that with Vite, serve the output and run it in headless
// Chromium on both backends. Proves the bundler finds the wasm module and the weights.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { serve } from '../../tools/serve.mjs';
import { ARTIFACTS, CHROMIUM_ARGS, ROOT } from './harness.mjs';

const APP = join(ROOT, 'build/vite-check');
let server;
let browser;

before(() => {
  rmSync(APP, { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  cpSync(join(ROOT, 'tests/vite-app'), APP, { recursive: true });
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', APP], { cwd: join(ROOT, 'pkg'), encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', `./${tarball}`], { cwd: APP, stdio: 'pipe' });
  execFileSync(join(ROOT, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], { cwd: APP, stdio: 'pipe' });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('a Vite app built from the packed tarball runs on both backends', async () => {
  server = await serve(join(APP, 'dist'), 0);
  const url = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'webverify-vite-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--headless'], headless: true,
  });
  for (const backend of ['cpu', 'webgpu']) {
    const page = await browser.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${url}?backend=${backend}`);
    await page.waitForFunction(() => document.getElementById('result').textContent !== 'loading', null, { timeout: 300_000 });
    const text = await page.textContent('#result');
    await page.screenshot({ path: join(ARTIFACTS, `vite-app-${backend}.png`) });
    assert.match(text, new RegExp(`^ok ${backend === 'cpu' ? 'flex' : 'webgpu'} dim 192 faces 0$`));
    assert.deepEqual(errors, []);
    await page.close();
  }
});
