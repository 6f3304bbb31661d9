// Challenge liveness in the browser with Chromium's fake camera playing test videos made by
// `webverify challenge-video` (a live NUAA frame whose face is warped along its mesh into head
// turns and looking up; docs/LIVENESS.md says how): the asked motions pass on the CPU (worker)
// and on WebGPU (inline, slower under SwiftShader, hence a slower video); the same face held
// still fails; bad options are typed errors; and the demo's challenge panel fails a still photo.
// The native binary is the one `make test-native` builds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, SHARED, needsShared, openPage, start } from './harness.mjs';
import { scratchDir } from '../../tools/scratch.mjs';

const BIN = process.env.WEBVERIFY_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/webverify/target'), 'debug/webverify');
const LIVE = join(SHARED, 'data/nuaa/ClientRaw/0001/0001_00_00_01_0.jpg');
const FPS = 10;

/** A y4m of the live frame making `actions` (none: held still), made at test time (the frames
 * never enter the site). */
function cameraFile(actions, { lead, step }) {
  const dir = scratchDir('webverify-challenge-');
  execFileSync(BIN, ['challenge-video', LIVE, '--actions', actions.join(','), '--out', dir, '--fps', `${FPS}`, '--lead', `${lead}`, '--step', `${step}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const out = join(dir, 'camera.y4m');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-framerate', `${FPS}`, '-i', join(dir, '%04d.png'), '-vf', 'format=yuv420p', out]);
  return out;
}

const camera = (file) => start({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${file}`] });

/** In the page: a verifier with its challenge models loaded (so that the camera's video, which
 * starts when it is opened, is not half played before the first frame is checked), then the
 * camera, then `challenge(video, options)`; also the typed errors of bad calls. */
async function runInPage(page, { backend, worker, options }) {
  return page.evaluate(async ({ backend, worker, options }) => {
    const { Verifier } = await import('./webverify/index.js');
    const v = await Verifier.create({ backend, worker });
    const code = (p) => p.then(() => 'resolved', (e) => e.code);
    const video = document.createElement('video');
    video.muted = true;
    const errors = {
      notVideo: await code(v.challenge(document.createElement('canvas'))),
      notPlaying: await code(v.challenge(video)),
    };
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    await video.play();
    while (!video.videoWidth) await new Promise((r) => setTimeout(r, 10));
    Object.assign(errors, {
      unknownStep: await code(v.challenge(video, { steps: ['jump'] })),
      stepsAndCount: await code(v.challenge(video, { steps: ['blink'], count: 2 })),
      count: await code(v.challenge(video, { count: 9 })),
      stepMs: await code(v.challenge(video, { steps: ['blink'], stepMs: 10 })),
      bpcer: await code(v.challenge(video, { bpcer: 0.3 })),
    });
    // The engine still works after them; the video restarts from its first frame.
    video.srcObject.getTracks().forEach((t) => t.stop());
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    await video.play();
    while (!video.videoWidth) await new Promise((r) => setTimeout(r, 10));
    const asked = [];
    const result = await v.challenge(video, { ...options, onProgress: (s) => { if (s.action && asked.at(-1) !== s.action) asked.push(s.action); } });
    v.dispose();
    return { result, asked, errors };
  }, { backend, worker, options });
}

let env;
after(async () => { await env?.close(); });

for (const [backend, worker, steps, timing, stepMs] of [
  ['cpu', true, ['turnLeft', 'lookUp', 'turnRight'], { lead: 3, step: 2 }, 6000],
  // SwiftShader checks a frame in about 5 s: a slow video, one motion.
  ['webgpu', false, ['turnRight'], { lead: 20, step: 30 }, 60000],
]) {
  test(`challenge on ${backend} (${worker ? 'worker' : 'inline'}): the asked motions pass`, { skip: needsShared('data/nuaa') }, async () => {
    env = await camera(cameraFile(steps, timing));
    try {
      const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
      const { result, asked, errors: codes } = await runInPage(page, { backend, worker, options: { steps, stepMs } });
      console.log(`${backend}: ${JSON.stringify(result)}`);
      assert.equal(result.passed, true, JSON.stringify(result));
      assert.equal(result.failure, null);
      assert.deepEqual(result.steps.map((s) => s.action), steps);
      assert.deepEqual(asked, steps, 'onProgress showed each motion in turn');
      assert.ok(result.steps.every((s) => s.passed && s.ms > 0));
      assert.ok(result.passive.live && result.passive.frames > 0);
      assert.deepEqual(codes, { notVideo: 'INVALID_INPUT', notPlaying: 'INVALID_INPUT', unknownStep: 'INVALID_INPUT', stepsAndCount: 'INVALID_INPUT', count: 'INVALID_INPUT', stepMs: 'INVALID_INPUT', bpcer: 'INVALID_INPUT' });
      await page.screenshot({ path: join(ARTIFACTS, `challenge-${backend}.png`) });
      assert.deepEqual(errors, []);
    } finally {
      await env.close();
      env = null;
    }
  });
}

test('challenge: the same face held still fails (random motions, time limit)', { skip: needsShared('data/nuaa') }, async () => {
  env = await camera(cameraFile([], { lead: 3, step: 1 }));
  try {
    const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
    const { result } = await runInPage(page, { backend: 'cpu', worker: true, options: { count: 2, stepMs: 2500 } });
    console.log(`still: ${JSON.stringify(result)}`);
    assert.equal(result.passed, false);
    assert.equal(result.failure, 'timeout');
    assert.equal(result.steps.length, 2);
    assert.notEqual(result.steps[0].action, result.steps[1].action);
    assert.ok(result.passive.live, 'the passive model alone lets the live still face through');
    assert.deepEqual(errors, []);
  } finally {
    await env.close();
    env = null;
  }
});

test('demo challenge panel: a still face fails', { skip: needsShared('data/nuaa') }, async () => {
  env = await camera(cameraFile([], { lead: 3, step: 1 }));
  try {
    const { page, errors } = await openPage(env.browser, `${env.url}?backend=cpu`);
    await page.waitForFunction(() => !document.getElementById('camera-start').disabled, null, { timeout: 300_000 });
    await page.click('#camera-start');
    await page.waitForFunction(() => !document.getElementById('challenge-start').disabled, null, { timeout: 60_000 });
    await page.click('#challenge-start');
    await page.waitForFunction(() => /^(passed|failed)/.test(document.getElementById('challenge-result').textContent), null, { timeout: 120_000 });
    const shown = await page.textContent('#challenge-result');
    console.log(`demo challenge panel, still face: ${shown}`);
    assert.match(shown, /^failed/);
    await page.screenshot({ path: join(ARTIFACTS, 'challenge-demo-still.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await env.close();
    env = null;
  }
});
