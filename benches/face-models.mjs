// Time per frame of the face models beside verification's own steps, in Chromium through the
// package's API (inline, so no worker messaging is counted): `detect` (BlazeFace, one pass),
// `landmarks` (detection, refinement, Face Mesh), `liveness` on one frame (detection + MiniFASNet),
// one frame of `challenge` (landmarks + MiniFASNet), `embed` with each alignment, and `embed` and
// `verify` with and without flip test-time augmentation (`tta`: the default embeds each face and
// its mirror image). Median and minimum over --rounds calls after a warm-up, per
// backend. No peer runs these models on our pages' terms (TF.js peers run MobileFaceNet only:
// benches/peers.mjs), so the figures stand beside our own verification path.
//
// Usage: node benches/face-models.mjs [--rounds 20] [--backends cpu,webgpu]
// Needs `make site` and ../shared (an LFW photo).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SHARED, openPage, start } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    backends: { type: 'string', default: 'cpu,webgpu' },
  },
});
const photo = readFileSync(join(SHARED, 'data/lfw-view1/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg')).toString('base64');
const env = await start();
const rows = [];
try {
  for (const backend of values.backends.split(',')) {
    const { page } = await openPage(env.browser, `${env.url}blank.html`);
    const times = await page.evaluate(async ({ backend, rounds, photo }) => {
      // The engine host itself (what an inline Verifier calls): the challenge's per-frame half
      // is not on the public Verifier.
      const { EngineHost } = await import('./webverify/engine-host.js');
      const image = await createImageBitmap(new Blob([Uint8Array.from(atob(photo), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }));
      const plain = await EngineHost.create({ backend });
      const single = await EngineHost.create({ backend, tta: 'none' });
      const mesh = await EngineHost.create({ backend, alignment: 'mesh' });
      const meshSingle = await EngineHost.create({ backend, alignment: 'mesh', tta: 'none' });
      const steps = {
        'detect (BlazeFace)': () => plain.detect(image),
        'embed, 4-point alignment, tta none': () => single.embed(image),
        'embed, 4-point alignment, tta flip (default)': () => plain.embed(image),
        'verify (two photos), tta none': () => single.verify(image, image),
        'verify (two photos), tta flip (default)': () => plain.verify(image, image),
        'landmarks (detect, refine, Face Mesh)': () => mesh.landmarks(image),
        'embed, 5-point mesh alignment, tta none': () => meshSingle.embed(image),
        'embed, 5-point mesh alignment, tta flip (default)': () => mesh.embed(image),
        'liveness, one frame (detect, MiniFASNet)': () => plain.liveness(image),
        // What `challenge()` does per camera frame (its internal half; the state carries over).
        'challenge, one frame (landmarks, MiniFASNet)': async () => {
          challenge.state ??= (await mesh._challengeStart({ steps: ['turnLeft'], stepMs: 60000 })).state;
          challenge.state = (await mesh._challengeFrame(challenge.state, image, performance.now() - challenge.t0)).state;
        },
      };
      const challenge = { state: null, t0: performance.now() };
      const out = {};
      for (const [name, run] of Object.entries(steps)) {
        await run(); // warm-up (and the liveness model's download)
        const ms = [];
        for (let i = 0; i < rounds; i++) {
          const t0 = performance.now();
          await run();
          ms.push(performance.now() - t0);
        }
        ms.sort((a, b) => a - b);
        out[name] = { median: ms[Math.floor(ms.length / 2)], min: ms[0] };
      }
      return { backend: plain.backend, out };
    }, { backend, rounds: Number(values.rounds), photo });
    for (const [step, t] of Object.entries(times.out)) rows.push({ backend: times.backend, step, ...t });
    await page.close();
  }
} finally {
  await env.close();
}
console.log(`| backend | step | median ms | min ms | rounds |`);
console.log(`|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.backend} | ${r.step} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)} | ${values.rounds} |`);
