// The face detector (BlazeFace short range) in Chromium, on the cpu module: the packed CPU
// kernels beside burn's Flex ops, in the same page and alternating rounds, per build (relaxed
// SIMD and plain SIMD128). One detection = letterboxing into 128x128, the network, anchor
// decoding and suppression, for one of the four reference photos (each round times all four).
// A verification runs the detector four times (each photo, then an upright crop around its face).
//
// Usage: node benches/detector.mjs [--rounds 20] [--builds relaxed-simd,simd]
// Needs `make site` and ../shared. Prints a Markdown table: median / min ms per detection.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SHARED, openPage, start } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    builds: { type: 'string', default: 'relaxed-simd,simd' },
  },
});
const rounds = Number(values.rounds);
const names = ['face_00_faceid.png', 'face_01_facematch_selected.png', 'face_02_samples_woman.png', 'face_03_samples_man.png'];
const pngs = names.map((n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64'));
const env = await start();
const rows = [];
try {
  for (const build of values.builds.split(',')) {
    const { page } = await openPage(env.browser, `${env.url}blank.html`);
    const r = await page.evaluate(async ({ rounds, build, pngs }) => {
      const { loadWasm, fetchWeights, DEFAULT_MODEL_URL, DEFAULT_DETECTOR_URL } = await import('./webverify/loading.js');
      const { wasm } = await loadWasm('cpu', undefined, {}, build);
      const engine = await wasm.Engine.create(await fetchWeights(DEFAULT_MODEL_URL), 'flex', await fetchWeights(DEFAULT_DETECTOR_URL));
      const images = [];
      for (const b64 of pngs) {
        const b = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
        const c = new OffscreenCanvas(b.width, b.height).getContext('2d');
        c.drawImage(b, 0, 0);
        images.push({ data: new Uint8Array(c.getImageData(0, 0, b.width, b.height).data), shapes: new Uint32Array([b.width, b.height, 4, 0]) });
      }
      const times = { kernels: [], burn: [] };
      const faces = {};
      // One warm-up pass each, then alternating rounds.
      for (let round = -1; round < rounds; round++) {
        for (const path of ['kernels', 'burn']) {
          engine.setPackedKernels(path === 'kernels');
          for (const { data, shapes } of images) {
            const t = performance.now();
            const found = await engine.detect(data, shapes);
            if (round >= 0) times[path].push(performance.now() - t);
            faces[path] = (faces[path] ?? 0) + found.length;
          }
        }
      }
      return { times, faces };
    }, { rounds, build, pngs });
    await page.close();
    rows.push({ build, ...r });
  }
} finally {
  await env.close();
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const both = (xs) => `${median(xs).toFixed(2)} / ${Math.min(...xs).toFixed(2)}`;
console.log('| build | packed CPU kernels ms (median / min) | burn Flex ops ms (median / min) | burn ÷ kernels (medians) | detections |');
console.log('|---|---|---|---|---|');
for (const { build, times, faces } of rows) {
  console.log(`| ${build} | ${both(times.kernels)} | ${both(times.burn)} | ${(median(times.burn) / median(times.kernels)).toFixed(2)} | ${times.kernels.length} each (faces found: ${faces.kernels} / ${faces.burn}) |`);
}
console.log(`\n${new Date().toISOString()}, ${rounds} rounds of ${names.length} photos, ${process.env.CHROMIUM ?? '/usr/bin/chromium'}`);
