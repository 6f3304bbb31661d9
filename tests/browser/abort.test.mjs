// Cancellation where a user waits: `signal` on the options of embed, embedBatch, verify,
// liveness and a gallery's enroll and identify, in worker and inline mode. An aborted signal
// rejects with ABORTED before the call starts; aborting during a call rejects it at once; aborting
// while a video is being sampled stops the sampling; a signal that never aborts changes nothing;
// anything else as `signal` is INVALID_INPUT; and the verifier verifies afterwards every time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED, needsShared, openPage, start } from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const png = (n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64');

async function probe({ worker, faces }) {
  const { Verifier } = await import('./webverify/index.js');
  const code = (p) => p.then(() => 'resolved', (e) => `${e.name}:${e.code}`);
  const bitmap = (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
  const [a, b] = await Promise.all([faces.a, faces.b].map(bitmap));
  const v = await Verifier.create({ backend: 'cpu', worker });
  const aborted = AbortSignal.abort();
  const out = { mode: v.mode };
  const works = async () => (await v.verify(a, b)).match;

  out.before = {
    embed: await code(v.embed(a, { signal: aborted })),
    embedBatch: await code(v.embedBatch([a, b], { signal: aborted })),
    verify: await code(v.verify(a, b, { signal: aborted })),
    liveness: await code(v.liveness(a, { signal: aborted })),
  };
  const g = v.createGallery();
  out.gallery = {
    enroll: await code(g.enroll('a', [a], { signal: aborted })),
    enrolledFirst: (await g.size()),
    identify: await code((async () => { await g.enroll('a', [a]); return g.identify(b, { signal: aborted }); })()),
  };
  // Aborted while it runs: a batch of 16 photos, aborted as soon as it was handed over.
  const controller = new AbortController();
  const during = code(v.embedBatch(Array(16).fill(a), { signal: controller.signal }));
  controller.abort();
  out.during = await during;
  out.afterDuring = await works();

  // A video being sampled: 20 frames 200 ms apart (4 s), aborted after 300 ms.
  const canvas = document.createElement('canvas');
  canvas.width = a.width;
  canvas.height = a.height;
  canvas.getContext('2d').drawImage(a, 0, 0);
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = canvas.captureStream(10);
  document.body.append(video);
  await video.play();
  while (!video.videoWidth) await new Promise((r) => setTimeout(r, 20));
  const sampling = new AbortController();
  const t0 = performance.now();
  const live = code(v.liveness(video, { frames: 20, intervalMs: 200, signal: sampling.signal }));
  setTimeout(() => sampling.abort(), 300);
  out.sampling = await live;
  out.samplingMs = performance.now() - t0;
  video.srcObject.getTracks().forEach((t) => t.stop());

  out.neverAborted = (await v.verify(a, b, { signal: new AbortController().signal })).match;
  out.notASignal = await code(v.verify(a, b, { signal: 'stop' }));
  out.afterAll = await works();
  v.dispose();
  return out;
}

for (const worker of [true, false]) {
  describe(`cancellation, ${worker ? 'in a worker' : 'inline'}`, { skip: needsShared() }, () => {
    test('signal on every call a user waits for', async () => {
      const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
      const r = await page.evaluate(probe, { worker, faces: { a: png('face_00_faceid.png'), b: png('face_01_facematch_selected.png') } });
      console.log(JSON.stringify(r));
      const ABORTED = 'WebverifyError:ABORTED';
      assert.equal(r.mode, worker ? 'worker' : 'inline');
      assert.deepEqual(r.before, { embed: ABORTED, embedBatch: ABORTED, verify: ABORTED, liveness: ABORTED });
      assert.deepEqual(r.gallery, { enroll: ABORTED, enrolledFirst: 0, identify: ABORTED });
      assert.equal(r.during, ABORTED);
      assert.equal(r.afterDuring, true);
      assert.equal(r.sampling, ABORTED);
      // Stopped well before the 4 s the sampling would take.
      assert.ok(r.samplingMs < 2000, `sampling aborted after ${r.samplingMs} ms`);
      assert.equal(r.neverAborted, true);
      assert.equal(r.notASignal, 'WebverifyError:INVALID_INPUT');
      assert.equal(r.afterAll, true);
      assert.deepEqual(errors, []);
      await page.close();
    });
  });
}
