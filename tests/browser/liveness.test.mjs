// Passive liveness in the browser, on the CPU (in the worker) and on WebGPU (inline): a track of
// live NUAA frames passes and a track of print-attack frames fails, with the scores the native
// build gives for the same files (the JPEG decoders differ by a level in some pixels, hence
// 0.03); a playing <video> is sampled into a track; bad calls are typed errors after which the
// verifier keeps working. The native binary is the one `make test-native` builds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { copyFileSync, readFileSync } from 'node:fs';
import { ARTIFACTS, ROOT, SHARED, needsShared, openPage, start } from './harness.mjs';
import { scratchDir } from '../../tools/scratch.mjs';

const BIN = process.env.WEBVERIFY_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/webverify/target'), 'debug/webverify');
const NUAA = join(SHARED, 'data/nuaa');
const track = (list, folder) => readFileSync(join(NUAA, list), 'utf8').trim().split('\n').slice(0, 3).map((n) => join(NUAA, folder, n.trim()));
const LIVE = () => track('client_test_raw.txt', 'ClientRaw');
const PRINT = () => track('imposter_test_raw.txt', 'ImposterRaw');

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

for (const [backend, worker] of [['cpu', true], ['webgpu', false]]) {
  test(`liveness on ${backend} (${worker ? 'worker' : 'inline'}) separates live frames from prints as natively`, { skip: needsShared('data/nuaa') }, async () => {
    const weights = join(ROOT, 'models/minifasnet-v1se-f16.safetensors');
    const native = (files) => JSON.parse(execFileSync(BIN, ['liveness', ...files, '--weights', weights], { encoding: 'utf8' }));
    const [nativeLive, nativePrint] = [native(LIVE()), native(PRINT())];
    const jpegs = (files) => files.map((f) => readFileSync(f).toString('base64'));
    const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
    const got = await page.evaluate(async ({ backend, worker, live, print }) => {
      const { Verifier } = await import('./webverify/index.js');
      const v = await Verifier.create({ backend, worker });
      const bitmaps = (list) => Promise.all(list.map((b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }))));
      const code = (p) => p.then(() => 'resolved', (e) => e.code);
      const out = { live: await v.liveness(await bitmaps(live)), print: await v.liveness(await bitmaps(print)) };
      out.strict = await v.liveness(await bitmaps(live), { bpcer: 0.01 });
      // Bad calls: typed errors, and the verifier keeps working after them.
      const blank = { data: new Uint8Array(64 * 64 * 4).fill(200), width: 64, height: 64 };
      out.errors = {
        empty: await code(v.liveness([])),
        noFace: await code(v.liveness(blank)),
        bpcer: await code(v.liveness(blank, { bpcer: 0.2 })),
        threshold: await code(v.liveness(blank, { threshold: 2 })),
      };
      // A <video> playing a live frame (a canvas stream) is sampled into a track. (The third:
      // the first scores 0.42 alone natively, below the BPCER 5 % threshold; a track averages.)
      const canvas = document.createElement('canvas');
      const first = (await bitmaps(live.slice(2, 3)))[0];
      [canvas.width, canvas.height] = [first.width, first.height];
      const ctx = canvas.getContext('2d');
      const paint = setInterval(() => ctx.drawImage(first, 0, 0), 30);
      ctx.drawImage(first, 0, 0);
      const video = document.createElement('video');
      video.muted = true;
      video.srcObject = canvas.captureStream(30);
      await video.play();
      while (!video.videoWidth) await new Promise((r) => setTimeout(r, 20));
      out.video = await v.liveness(video, { frames: 3, intervalMs: 50 });
      clearInterval(paint);
      v.dispose();
      // Another model's weights as the liveness model: MODEL_VERSION, then the right ones work.
      const w = await Verifier.create({ backend, worker });
      out.errors.wrongModel = await code(w.liveness(blank, { livenessUrl: new URL('./webverify/models/blazeface-short.safetensors', location.href).href }));
      out.after = (await w.liveness(await bitmaps(live.slice(2, 3)))).live;
      w.dispose();
      return out;
    }, { backend, worker, live: jpegs(LIVE()), print: jpegs(PRINT()) });
    console.log(`${backend}: live ${got.live.score.toFixed(4)} (native ${nativeLive.score.toFixed(4)}), print ${got.print.score.toFixed(4)} (native ${nativePrint.score.toFixed(4)}), threshold ${got.live.threshold}, video ${got.video.score.toFixed(4)}`);
    assert.equal(got.live.live, true);
    assert.equal(got.print.live, false);
    assert.equal(got.live.framesWithFace, 3);
    assert.ok(Math.abs(got.live.score - nativeLive.score) < 0.03, `${got.live.score} vs ${nativeLive.score}`);
    assert.ok(Math.abs(got.print.score - nativePrint.score) < 0.03, `${got.print.score} vs ${nativePrint.score}`);
    assert.equal(Math.fround(got.live.threshold), Math.fround(nativeLive.threshold));
    assert.ok(got.strict.threshold < got.live.threshold, 'BPCER 1 % has the lower threshold');
    assert.match(got.live.model, /^minifasnet-/);
    assert.equal(got.video.frameScores.length, 3);
    assert.equal(got.video.live, true);
    assert.deepEqual(got.errors, { empty: 'INVALID_INPUT', noFace: 'NO_FACE', bpcer: 'INVALID_INPUT', threshold: 'INVALID_INPUT', wrongModel: 'MODEL_VERSION' });
    assert.equal(got.after, true);
    await page.screenshot({ path: join(ARTIFACTS, `liveness-${backend}.png`) });
    assert.deepEqual(errors, []);
  });
}

/** A 640x480 y4m playing NUAA frames (made at test time; the frames never enter the site). */
function cameraFile(files) {
  const dir = scratchDir('webverify-liveness-');
  files.forEach((f, i) => copyFileSync(f, join(dir, `${i + 1}.jpg`)));
  const out = join(dir, 'camera.y4m');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-framerate', '2', '-i', join(dir, '%d.jpg'), '-vf', 'format=yuv420p', out]);
  return out;
}

// The demo's panel with Chromium's fake camera: live frames pass, a print fails.
for (const [name, files, verdict] of [['live person', LIVE, /^live person/], ['print attack', PRINT, /^not live/]]) {
  test(`demo liveness panel: ${name}`, { skip: needsShared('data/nuaa') }, async () => {
    const file = cameraFile(files());
    const cam = await start({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${file}`] });
    try {
      const { page, errors } = await openPage(cam.browser, `${cam.url}?backend=cpu`);
      await page.waitForFunction(() => !document.getElementById('camera-start').disabled, null, { timeout: 300_000 });
      await page.click('#camera-start');
      await page.waitForFunction(() => !document.getElementById('liveness-check').disabled, null, { timeout: 60_000 });
      await page.click('#liveness-check');
      await page.waitForFunction(() => !['–', 'checking…'].includes(document.getElementById('liveness-result').textContent), null, { timeout: 120_000 });
      const shown = await page.textContent('#liveness-result');
      console.log(`demo panel, ${name}: ${shown}`);
      assert.match(shown, verdict);
      await page.screenshot({ path: join(ARTIFACTS, `liveness-demo-${name.replace(' ', '-')}.png`), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await cam.close();
    }
  });
}
