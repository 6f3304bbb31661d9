// The demo page end to end, on the CPU and on WebGPU: pick two reference faces, compare, and
// find the similarity the native build computes for the same files (the Makefile's target dir
// holds the binary: `make test-native` builds it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ARTIFACTS, ROOT, SHARED, needsShared, openPage, start } from './harness.mjs';

const BIN = process.env.WEBVERIFY_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/webverify/target'), 'debug/webverify');
const FACES = ['face_00_faceid.png', 'face_02_samples_woman.png'].map((n) => join(SHARED, 'reference/mobilefacenet/inputs', n));

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

for (const backend of ['cpu', 'webgpu']) {
  test(`demo page compares two faces on ${backend}`, { skip: needsShared() }, async () => {
    const native = JSON.parse(execFileSync(BIN, ['verify', ...FACES, '--weights', join(ROOT, 'models/mobilefacenet-int8.safetensors')], { encoding: 'utf8' }));
    const { page, errors } = await openPage(env.browser, `${env.url}?backend=${backend}`);
    await page.waitForFunction(() => /^(Ready|Could not)/.test(document.getElementById('status').textContent));
    const status = await page.textContent('#status');
    assert.match(status, new RegExp(`^Ready: backend ${backend === 'cpu' ? '(flex|ndarray)' : 'webgpu'}`));
    await page.setInputFiles('#file-a', FACES[0]);
    await page.setInputFiles('#file-b', FACES[1]);
    await page.waitForFunction(() => !document.getElementById('compare').disabled);
    await page.click('#compare');
    await page.waitForFunction(() => document.getElementById('similarity').textContent !== '–'
      || document.getElementById('status').classList.contains('error'));
    assert.ok(!(await page.getAttribute('#status', 'class'))?.includes('error'), await page.textContent('#status'));
    const shown = Number(await page.textContent('#similarity'));
    const verdict = await page.textContent('#verdict');
    await page.screenshot({ path: join(ARTIFACTS, `e2e-verify-${backend}.png`), fullPage: true });
    assert.ok(Math.abs(shown - native.similarity) < 2e-3, `page shows ${shown}, native ${native.similarity}`);
    assert.equal(/^same person/i.test(verdict), native.match);
    // The start panel said what the device can do and finished loading; the faces were drawn.
    assert.match(await page.textContent('#capabilities'), /WebAssembly SIMD: yes/);
    assert.match(status, /warm-up \d+ ms$/);
    assert.equal(await page.$eval('#load-progress', (p) => p.value), 1);
    assert.equal(await page.getAttribute('#view-a', 'data-faces'), '1');

    // The benchmark panel fills its table.
    await page.click('#bench-run');
    await page.waitForFunction(() => document.getElementById('bench-rows').dataset.rows === '2'
      || /failed/.test(document.getElementById('bench-status').textContent), null, { timeout: 300_000 });
    const rows = await page.$$eval('#bench-rows tr', (trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
    console.log(`benchmark panel: ${JSON.stringify(rows)}`);
    assert.equal(rows.length, 2, await page.textContent('#bench-status'));
    assert.ok(rows.every((r) => Number(r[2]) > 0 && Number(r[3]) <= Number(r[2])));
    await page.screenshot({ path: join(ARTIFACTS, `e2e-bench-${backend}.png`), fullPage: true });
    assert.deepEqual(errors, []);
  });
}

// Detection and the whole pipeline in the browser against the native build on the same file:
// the same box and keypoints within a pixel, the same embedding (cosine ≥ 0.9999).
for (const backend of ['cpu', 'webgpu']) {
  test(`browser pipeline equals native on ${backend}`, { skip: needsShared() }, async () => {
    const file = FACES[1];
    const models = ['--weights', join(ROOT, 'models/mobilefacenet-int8.safetensors'), '--detector', join(ROOT, 'models/blazeface-short.safetensors')];
    const nativeFaces = JSON.parse(execFileSync(BIN, ['detect', file, '--detector', models[3]], { encoding: 'utf8' })).faces;
    const nativeEmbedding = JSON.parse(execFileSync(BIN, ['embed', file, ...models], { encoding: 'utf8' })).embedding;
    const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
    const browser = await page.evaluate(async ({ backend, png }) => {
      const { Verifier } = await import('./webverify/index.js');
      const v = await Verifier.create({ backend });
      const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }), { colorSpaceConversion: 'none' });
      return { faces: await v.detect(bitmap), embedding: Array.from(await v.embed(bitmap)) };
    }, { backend, png: readFileSync(file).toString('base64') });
    assert.equal(browser.faces.length, nativeFaces.length);
    const [b, n] = [browser.faces[0], nativeFaces[0]];
    for (const k of ['x', 'y', 'width', 'height']) assert.ok(Math.abs(b.box[k] - n.box[k]) < 1, `box.${k}: ${b.box[k]} vs ${n.box[k]}`);
    for (const [k, p] of Object.entries(n.landmarks)) {
      assert.ok(Math.hypot(b.landmarks[k][0] - p[0], b.landmarks[k][1] - p[1]) < 1, `${k}: ${b.landmarks[k]} vs ${p}`);
    }
    const cos = browser.embedding.reduce((s, x, i) => s + x * nativeEmbedding[i], 0);
    console.log(`${backend}: pipeline embedding cosine to native ${cos.toFixed(8)}`);
    assert.ok(cos >= 0.9999, `cosine ${cos}`);
    assert.deepEqual(errors, []);
  });
}
