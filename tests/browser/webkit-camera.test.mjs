// The camera paths in WebKit (Safari's engine; WebKitGTK's MiniBrowser with its mock capture
// devices, under Xvfb): the demo's camera (front first, the switch to the back one with the
// facing the track reports, released in the background and reopened with the same facing, inline
// playback), and the package's challenge on a camera stopped with ABORTED when the page goes to
// the background, the verifier verifying afterwards. The background is simulated in the page
// (document.visibilityState and its event). No face is in the mock camera's picture: what needs
// one runs on photos. A real iPhone is not tested here (docs/RELIABILITY.md).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, needsShared } from './harness.mjs';
import { faces } from './cross-browser.mjs';
import { startWebKit } from './webkit.mjs';
import { serve } from '../../tools/serve.mjs';

let webkit;
let server;
before(async () => {
  server = await serve(SITE, 0, '127.0.0.1');
  webkit = await startWebKit({ args: ['--enable-media-stream=true', '--enable-mock-capture-devices=true'] });
});
after(async () => { await webkit?.close(); server?.close(); });

const origin = () => `http://127.0.0.1:${server.address().port}/`;

/** In the page: the page's visibility, as a phone's background and foreground change it. */
const VISIBILITY = `window.setVisibility = (state) => {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
  Object.defineProperty(document, 'hidden', { value: state === 'hidden', configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
};`;

describe('WebKit camera', () => {
  test("the demo's camera: front, back, background and back again, inline", async () => {
    await webkit.goto(`${origin()}?backend=cpu`);
    const r = await webkit.evaluate(`async () => {
      ${VISIBILITY}
      const $ = (id) => document.getElementById(id);
      const until = async (f, ms = 300000) => { const t = Date.now(); while (!f()) { if (Date.now() - t > ms) throw new Error('timed out: ' + f); await new Promise((r) => setTimeout(r, 50)); } };
      const video = $('camera');
      const facing = () => video.srcObject?.getVideoTracks()[0]?.getSettings().facingMode;
      const live = () => (video.srcObject?.getVideoTracks() ?? []).some((t) => t.readyState === 'live') && !video.paused;
      await until(() => !$('camera-start').disabled);
      const out = { playsInline: video.playsInline };
      $('camera-start').click();
      await until(() => video.dataset.facing === 'user' && live());
      out.front = facing();
      $('camera-switch').click();
      await until(() => video.dataset.facing === 'environment' && live());
      out.back = facing();
      const tracks = video.srcObject.getVideoTracks();
      window.setVisibility('hidden');
      await until(() => /paused/.test($('camera-status').textContent));
      out.hidden = { released: video.srcObject === null, ended: tracks.every((t) => t.readyState === 'ended'), enroll: $('enroll').disabled };
      window.setVisibility('visible');
      await until(() => $('camera-status').textContent === 'Camera resumed.' && live());
      out.resumed = { facing: facing(), enroll: !$('enroll').disabled, size: [video.videoWidth, video.videoHeight] };
      return out;
    }`);
    console.log(`webkit ${webkit.version}: ${JSON.stringify(r)}`);
    assert.equal(r.playsInline, true);
    assert.equal(r.front, 'user');
    assert.equal(r.back, 'environment');
    assert.deepEqual(r.hidden, { released: true, ended: true, enroll: true });
    assert.equal(r.resumed.facing, 'environment');
    assert.equal(r.resumed.enroll, true);
    assert.ok(r.resumed.size[0] > 0 && r.resumed.size[1] > 0);
  });

  test('a challenge on the camera stops with ABORTED in the background; the verifier verifies after', { skip: needsShared() }, async () => {
    await webkit.goto(`${origin()}blank.html`);
    const r = await webkit.evaluate(`async (faces) => {
      ${VISIBILITY}
      const { Verifier } = await import('./webverify/index.js');
      const bitmap = (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
      const v = await Verifier.create({ backend: 'cpu' });
      const video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'user' } } });
      document.body.append(video);
      await video.play();
      let frames = 0;
      let settled = false;
      const running = v.challenge(video, { stepMs: 60000, onProgress: () => { frames += 1; } })
        .then(() => 'resolved', (e) => e.code + ': ' + e.message).finally(() => { settled = true; });
      while (frames < 3 && !settled) await new Promise((r) => setTimeout(r, 50));
      window.setVisibility('hidden');
      const challenge = await running;
      window.setVisibility('visible');
      const sampled = await v.liveness(video, { frames: 2 }).then(() => 'resolved', (e) => e.code);
      const same = await v.verify(await bitmap(faces.vlad0), await bitmap(faces.vlad1));
      v.dispose();
      video.srcObject.getTracks().forEach((t) => t.stop());
      return { mode: v.mode, frames, challenge, sampled, match: same.match };
    }`, faces());
    console.log(`webkit: ${JSON.stringify(r)}`);
    assert.equal(r.mode, 'worker');
    assert.match(r.challenge, /^ABORTED: the challenge stopped: the page went to the background/);
    // The mock camera shows no face: the verifier answers with its typed NO_FACE.
    assert.equal(r.sampled, 'NO_FACE');
    assert.equal(r.match, true);
  });
});
