// The demo's camera as a phone uses it, on Chromium's fake camera (an ORL person's photos as a
// .y4m) in a phone-sized page: the front camera first (`facingMode` asked for, `playsinline`
// set), a switch to the back one, the page going to the background (the camera released, a
// running challenge stopped with ABORTED) and coming back (the camera reopened with the same
// facing), the verifier working throughout (a verification of two snapshots afterwards), and an
// orientation change (no sideways scrolling, the video keeping its aspect). The background is
// simulated in the page (document.visibilityState and the visibilitychange event): headless
// Chromium keeps every page visible. A real phone's camera is not tested here (docs/RELIABILITY.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ARTIFACTS, SHARED, needsShared, openPage, start } from './harness.mjs';
import { scratchDir } from '../../tools/scratch.mjs';

/** A 640x480 y4m of ORL person s1's photos, the face scaled up on grey. */
function cameraFile() {
  const out = join(scratchDir('webverify-camera-'), 's1.y4m');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-framerate', '2', '-i', join(SHARED, 'data/orl/s1/%d.pgm'),
    '-vf', 'scale=276:336,pad=640:480:(ow-iw)/2:(oh-ih)/2:gray,format=yuv420p', out]);
  return out;
}

/** In the page: every getUserMedia call's constraints, and a switch for the page's visibility. */
function instrument() {
  window.cameraRequests = [];
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => {
    window.cameraRequests.push(JSON.parse(JSON.stringify(constraints)));
    return real(constraints);
  };
  window.setVisibility = (state) => {
    Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
    Object.defineProperty(document, 'hidden', { value: state === 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  };
}

const cameraState = (page) => page.evaluate(() => {
  const v = document.getElementById('camera');
  const tracks = v.srcObject?.getVideoTracks() ?? [];
  return {
    playsInline: v.playsInline, facing: v.dataset.facing, live: tracks.length > 0 && tracks.every((t) => t.readyState === 'live'),
    requests: window.cameraRequests.map((c) => c.video.facingMode.ideal), status: document.getElementById('camera-status').textContent,
    enroll: !document.getElementById('enroll').disabled,
  };
});

test('the camera on a phone: front first, switch, background and back, orientation', { skip: needsShared('data/orl/s1/1.pgm') }, async () => {
  const env = await start({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${cameraFile()}`] });
  try {
    const { page, errors } = await openPage(env.browser, 'about:blank');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.addInitScript(instrument);
    await page.goto(`${env.url}?backend=cpu`);
    await page.waitForFunction(() => !document.getElementById('camera-start').disabled, null, { timeout: 300_000 });

    await page.click('#camera-start');
    await page.waitForFunction(() => document.getElementById('camera').dataset.facing === 'user');
    let s = await cameraState(page);
    assert.deepEqual([s.playsInline, s.facing, s.live, s.requests, s.enroll], [true, 'user', true, ['user'], true]);

    await page.click('#camera-switch');
    await page.waitForFunction(() => document.getElementById('camera').dataset.facing === 'environment');
    s = await cameraState(page);
    assert.deepEqual([s.facing, s.live, s.requests], ['environment', true, ['user', 'environment']]);

    // A challenge runs when the page goes to the background: the camera is released and the
    // challenge stops with the package's ABORTED and its reason.
    await page.waitForFunction(() => !document.getElementById('challenge-start').disabled);
    await page.click('#challenge-start');
    await page.waitForFunction(() => document.getElementById('challenge-prompt').textContent !== '–', null, { timeout: 300_000 });
    await page.evaluate(() => window.setVisibility('hidden'));
    await page.waitForFunction(() => /^stopped: the challenge stopped/.test(document.getElementById('challenge-result').textContent), null, { timeout: 120_000 });
    s = await cameraState(page);
    assert.deepEqual([s.live, s.enroll], [false, false]);
    assert.match(s.status, /paused/);
    assert.match(await page.textContent('#challenge-result'), /the page went to the background|the camera stopped/);

    await page.evaluate(() => window.setVisibility('visible'));
    await page.waitForFunction(() => document.getElementById('camera-status').textContent === 'Camera resumed.');
    s = await cameraState(page);
    assert.deepEqual([s.facing, s.live, s.requests, s.enroll], ['environment', true, ['user', 'environment', 'environment'], true]);

    // The verifier went through all of it: two snapshots still verify.
    await page.waitForFunction(() => !document.getElementById('snap-a').disabled);
    await page.click('#snap-a');
    await page.waitForTimeout(700);
    await page.click('#snap-b');
    await page.waitForFunction(() => !document.getElementById('compare').disabled);
    await page.click('#compare');
    await page.waitForFunction(() => document.getElementById('similarity').textContent !== '–'
      || document.getElementById('status').classList.contains('error'), null, { timeout: 300_000 });
    assert.ok(!(await page.getAttribute('#status', 'class'))?.includes('error'), await page.textContent('#status'));
    assert.equal(await page.getAttribute('#view-a', 'data-faces'), '1');

    // Portrait and landscape: nothing wider than the screen, the video at 4:3.
    for (const size of [{ width: 390, height: 844 }, { width: 844, height: 390 }]) {
      await page.setViewportSize(size);
      await page.waitForTimeout(200);
      const layout = await page.evaluate(() => {
        const r = document.getElementById('camera').getBoundingClientRect();
        return { scrollWidth: document.documentElement.scrollWidth, aspect: r.width / r.height, width: r.width };
      });
      assert.ok(layout.scrollWidth <= size.width, `${size.width}px wide: the page scrolls sideways (${layout.scrollWidth}px)`);
      assert.ok(Math.abs(layout.aspect - 4 / 3) < 0.02, `the video is ${layout.aspect.toFixed(3)}:1 at ${size.width}px`);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'camera-lifecycle-landscape.png') });
    assert.deepEqual(errors, []);
  } finally {
    await env.close();
  }
});
