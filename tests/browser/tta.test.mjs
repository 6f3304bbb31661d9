// Flip test-time augmentation in the browser (`tta` of `Verifier.create`), on the CPU (in the
// worker) and on WebGPU (inline): the default embeds each face and its mirror image, so a crop
// and its mirror get the same embedding, equal to the native build's; `tta: 'none'` embeds the
// crop alone; a mode that does not exist is INVALID_INPUT. The native binary is the one
// `make test-native` builds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ROOT, SHARED, needsShared, openPage, start } from './harness.mjs';

const BIN = process.env.WEBVERIFY_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/webverify/target'), 'debug/webverify');
// An aligned 112x112 crop: with `face: 'none'` its mirror is exactly the mirrored crop.
const CROP = join(SHARED, 'reference/mobilefacenet/inputs/face_02_samples_woman.png');

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

for (const [backend, worker] of [['cpu', true], ['webgpu', false]]) {
  test(`flip test-time augmentation on ${backend} (${worker ? 'worker' : 'inline'})`, { skip: needsShared() }, async () => {
    const weights = ['--weights', join(ROOT, 'models/mobilefacenet-int8.safetensors'), '--face', 'none'];
    const native = (tta) => JSON.parse(execFileSync(BIN, ['embed', CROP, ...weights, '--tta', tta], { encoding: 'utf8', cwd: ROOT })).embedding;
    const nativeThreshold = (tta) => JSON.parse(execFileSync(BIN, ['verify', CROP, CROP, ...weights, '--tta', tta], { encoding: 'utf8', cwd: ROOT })).threshold;
    const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
    const got = await page.evaluate(async ({ backend, worker, png }) => {
      const { Verifier } = await import('./webverify/index.js');
      const code = (p) => p.then(() => 'resolved', (e) => e.code);
      const crop = await createImageBitmap(new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' }), { colorSpaceConversion: 'none' });
      const canvas = new OffscreenCanvas(crop.width, crop.height);
      const ctx = canvas.getContext('2d');
      ctx.scale(-1, 1);
      ctx.drawImage(crop, -crop.width, 0);
      const mirror = ctx.getImageData(0, 0, crop.width, crop.height);
      const run = async (v) => ({
        tta: v.tta,
        crop: Array.from(await v.embed(crop, { face: 'none' })),
        mirror: Array.from(await v.embed(mirror, { face: 'none' })),
        verify: await v.verify(crop, mirror, { face: 'none' }),
      });
      const flip = await Verifier.create({ backend, worker });
      const out = { flip: await run(flip) };
      flip.dispose();
      const plain = await Verifier.create({ backend, worker, tta: 'none' });
      out.none = await run(plain);
      plain.dispose();
      out.bad = await code(Verifier.create({ backend, worker, tta: 'mirror' }));
      return out;
    }, { backend, worker, png: readFileSync(CROP).toString('base64') });
    const { flip, none } = got;
    assert.deepEqual([flip.tta, none.tta, got.bad], ['flip', 'none', 'INVALID_INPUT']);
    const [flipMirror, noneMirror, across] = [dot(flip.crop, flip.mirror), dot(none.crop, none.mirror), dot(flip.crop, none.crop)];
    console.log(`${backend}: crop·mirror with flip ${flipMirror.toFixed(7)}, without ${noneMirror.toFixed(5)}; flip·none ${across.toFixed(5)}; verify ${flip.verify.similarity} at ${flip.verify.threshold}`);
    assert.ok(flipMirror > 0.99999, `flip cannot tell the crop from its mirror: ${flipMirror}`);
    assert.ok(noneMirror < 0.999, `without it the mirror is another photo: ${noneMirror}`);
    assert.ok(across < 0.9999, `flip changes the embedding: ${across}`);
    assert.ok(flip.verify.match && flip.verify.similarity > 0.9999);
    // Each mode scores with its own calibration (`calibration_flip` for flip), as natively.
    for (const [mode, ours] of [['flip', flip.verify.threshold], ['none', none.verify.threshold]]) {
      assert.ok(Math.abs(ours - nativeThreshold(mode)) < 1e-6, `${mode}: threshold ${ours} vs native ${nativeThreshold(mode)}`);
    }
    assert.ok(Math.abs(flip.verify.threshold - none.verify.threshold) > 1e-3, 'the two modes use different calibrations');
    // The native build gives the same embeddings in both modes.
    for (const [mode, ours] of [['flip', flip.crop], ['none', none.crop]]) {
      const cos = dot(ours, native(mode));
      assert.ok(cos >= 0.9999, `${mode}: cosine to native ${cos}`);
    }
    assert.deepEqual(errors, []);
  });
}
