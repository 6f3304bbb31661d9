// The demo page end to end, on the CPU and on WebGPU: pick two reference faces, compare, and
// find the similarity the native build computes for the same files (the Makefile's target dir
// holds the binary: `make test-native` builds it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, HAS_SHARED, ROOT, SHARED, openPage, start } from './harness.mjs';

const BIN = process.env.WEBVERIFY_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/webverify/target'), 'debug/webverify');
const FACES = ['face_00_faceid.png', 'face_02_samples_woman.png'].map((n) => join(SHARED, 'reference/mobilefacenet/inputs', n));

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

for (const backend of ['cpu', 'webgpu']) {
  test(`demo page compares two faces on ${backend}`, { skip: !HAS_SHARED && 'no ../shared' }, async () => {
    const native = JSON.parse(execFileSync(BIN, ['verify', ...FACES, '--weights', join(ROOT, 'models/mobilefacenet.safetensors')], { encoding: 'utf8' }));
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
    assert.equal(verdict.startsWith('same person'), native.match);
    assert.deepEqual(errors, []);
  });
}
