// The demo's "Fine-tune on device" panel on both backends: train on the drawn sample objects,
// see the loss chart fill step by step and the before/after views drawn, cancel a second run
// (the model stays as tuned), go back to the shipped model; no console errors. Screenshots in
// build/artifacts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS, openPage, start } from './harness.mjs';
import { scratchDir } from '../../tools/scratch.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

// WebGPU runs on SwiftShader here (CPU emulation): fewer steps.
for (const [backend, steps] of [['cpu', 16], ['webgpu', 4]]) {
  test(`fine-tune panel on ${backend}`, { timeout: 600_000 }, async () => {
    const { page, errors } = await openPage(env.browser, `${env.url}?backend=${backend}`);
    await page.waitForFunction(() => !document.getElementById('tune-train').disabled, null, { timeout: 300_000 });
    const shipped = await page.textContent('#status');
    await page.fill('#tune-steps', String(steps));
    await page.selectOption('#tune-loss-kind', 'supcon');
    await page.click('#tune-train');
    // The chart is drawn after every step.
    await page.waitForFunction(() => Number(document.getElementById('tune-loss').dataset.points) >= 2, null, { timeout: 300_000 });
    await page.waitForFunction(() => document.getElementById('tune-status').dataset.done === 'true'
      || /failed/.test(document.getElementById('tune-status').textContent), null, { timeout: 500_000 });
    const status = await page.textContent('#tune-status');
    await page.screenshot({ path: join(ARTIFACTS, `demo-finetune-${backend}.png`), fullPage: true });
    // The panel alone, with drawn objects only (no one's face): the README's demo picture.
    await page.locator('#tune').screenshot({ path: join(ARTIFACTS, `demo-finetune-panel-${backend}.png`) });
    console.log(`${backend}: ${status} ${await page.textContent('#tune-rate')}`);
    assert.match(status, /^Tuned in .*model mobilefacenet-tuned-/);
    assert.equal(await page.getAttribute('#tune-loss', 'data-points'), String(steps));
    const same = status.match(/same object: (-?[\d.]+) → (-?[\d.]+)/);
    assert.ok(same, status);
    // What the tuned model's thresholds rest on is said either way.
    assert.match(status, /(Calibration: the previous model's, kept \(.+\)|Calibrated on \d+ held-back classes \(.+\): FAR .+)\.$/);

    // Save the tuned model, go back to the shipped one, load the file: the tuned model is back.
    const tunedId = status.match(/model (mobilefacenet-tuned-\w+)/)[1];
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#tune-export')]);
    const saved = join(scratchDir('webverify-tuned-'), 'tuned.safetensors');
    await download.saveAs(saved);
    await page.click('#tune-reset');
    await page.waitForFunction(() => /^Back to the shipped model/.test(document.getElementById('tune-status').textContent));
    await page.setInputFiles('#tune-import', saved);
    await page.waitForFunction(() => /^Loaded tuned\.safetensors/.test(document.getElementById('tune-status').textContent));
    assert.match(await page.textContent('#tune-status'), new RegExp(`model ${tunedId}, tuned with supcon \\(adapter\\)`));

    // A second run cancelled after its first step.
    await page.fill('#tune-steps', '50');
    await page.click('#tune-train');
    await page.waitForFunction(() => Number(document.getElementById('tune-loss').dataset.points) >= 1 && document.getElementById('tune-status').textContent === 'Training…', null, { timeout: 300_000 });
    await page.click('#tune-cancel');
    await page.waitForFunction(() => /^Cancelled/.test(document.getElementById('tune-status').textContent), null, { timeout: 300_000 });
    await page.click('#tune-reset');
    await page.waitForFunction(() => /^Back to the shipped model/.test(document.getElementById('tune-status').textContent));
    assert.ok(shipped.includes((await page.textContent('#tune-status')).match(/model (\S+)\.$/)[1]), 'the shipped model is back');
    assert.deepEqual(errors, []);
  });
}
