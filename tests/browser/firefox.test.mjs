// The package in Firefox (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi; no
// browser is downloaded): on the CPU path, in a worker (the default on a page), verify two photos
// and identify in a gallery (Firefox 153 ESR validates relaxed SIMD: the relaxed build runs).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { SHARED, SITE, needsShared } from './harness.mjs';
import { serve } from '../../tools/serve.mjs';

const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
let server, browser;
before(async () => {
  if (!existsSync(FIREFOX)) throw new Error(`${FIREFOX} is missing: run 'make setup-browser' (Debian's firefox-esr)`);
  server = await serve(SITE, 0);
  browser = await puppeteer.launch({ browser: 'firefox', protocol: 'webDriverBiDi', executablePath: FIREFOX, headless: true });
});
after(async () => { await browser?.close(); server?.close(); });

const png = (n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64');

test('Firefox: verify and a gallery on the CPU, in a worker', { skip: needsShared() }, async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${server.address().port}/blank.html`);
  const r = await page.evaluate(async (pngs) => {
    const { Verifier } = await import('./webverify/index.js');
    const bitmap = (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
    const [a, b, c] = await Promise.all(pngs.map(bitmap));
    const v = await Verifier.create({ backend: 'cpu' });
    const same = await v.verify(a, a);
    const pair = await v.verify(a, b);
    const g = v.createGallery();
    await g.enroll('a', [a], { force: true });
    await g.enroll('c', [c], { force: true });
    const found = await g.identify(a, { topK: 2 });
    const out = { ua: navigator.userAgent, backend: v.backend, build: v.wasmBuild, module: v.wasmModule, same: same.similarity, pair: pair.similarity, faces: pair.faces, top: found.candidates[0].id };
    v.dispose();
    return out;
  }, ['face_00_faceid.png', 'face_01_facematch_selected.png', 'face_03_samples_man.png'].map(png));
  console.log(`firefox: ${r.ua}; ${r.backend}, ${r.build} build, ${r.module} module; self ${r.same.toFixed(4)}, pair ${r.pair.toFixed(4)}; identified ${r.top}`);
  assert.match(r.ua, /Firefox\//);
  assert.match(r.backend, /^flex/);
  assert.equal(r.module, 'cpu');
  assert.ok(r.same > 0.999, `self-similarity ${r.same}`);
  assert.deepEqual(r.faces, [1, 1]);
  assert.equal(r.top, 'a');
  assert.deepEqual(errors, []);
  await page.close();
});
