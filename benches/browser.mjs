// Browser benchmark of the npm package in headless Chromium, per backend: module + weights load,
// first embedding, then median and minimum of single embeddings and of batches of 16. The input
// is a ready 112x112 crop (`face: 'none'`): this times the embedder, as the peers' figures do.
// Usage: node benches/browser.mjs [--backends webgpu,flex] [--singles 50] [--batches 20] [--cap-s 120]
// Needs `make site`. Prints a Markdown table. On SwiftShader (no GPU) WebGPU is a CPU emulation:
// its phases stop at --cap-s seconds and `n` says how many runs were timed.
import { parseArgs } from 'node:util';
import { openPage, start } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'webgpu,flex' },
    singles: { type: 'string', default: '50' },
    batches: { type: 'string', default: '20' },
    'cap-s': { type: 'string', default: '120' },
  },
});

const env = await start();
const rows = [];
try {
  for (const backend of values.backends.split(',')) {
    // A fresh page per backend, so each load includes compiling the wasm module.
    const { page } = await openPage(env.browser, `${env.url}blank.html`);
    const r = await page.evaluate(async ({ backend, singles, batches, capMs }) => {
      const t0 = performance.now();
      const { Verifier } = await import('./webverify/index.js');
      const v = await Verifier.create({ backend });
      const load = performance.now() - t0;
      const pixels = new Uint8ClampedArray(112 * 112 * 4).map((_, i) => (i * 7) % 251);
      const image = new ImageData(pixels, 112, 112);
      const crop = { face: 'none' };
      let t = performance.now();
      await v.embed(image, crop);
      const first = performance.now() - t;
      const timed = async (n, fn, per) => {
        const ms = [];
        const end = performance.now() + capMs;
        for (let i = 0; i < n && performance.now() < end; i++) {
          const s = performance.now();
          await fn();
          ms.push((performance.now() - s) / per);
        }
        ms.sort((a, b) => a - b);
        return { median: ms[Math.floor(ms.length / 2)], min: ms[0], n: ms.length };
      };
      const single = await timed(singles, () => v.embed(image, crop), 1);
      const batch = Array(16).fill(image);
      await v.embedBatch(batch, crop); // first batch of 16 compiles kernels for that shape
      const batched = await timed(batches, () => v.embedBatch(batch, crop), 16);
      const name = v.backend;
      v.dispose();
      return { name, load, first, single, batched };
    }, { backend, singles: Number(values.singles), batches: Number(values.batches), capMs: Number(values['cap-s']) * 1000 });
    rows.push(r);
    await page.close();
  }
} finally {
  await env.close();
}
const f = (x) => x.toFixed(1);
console.log(`Chromium ${env.browser.browser()?.version() ?? ''} headless, ${new Date().toISOString().slice(0, 10)}`);
console.log('| backend | load ms | first ms | single median ms | single min ms | n | batch16 median ms/face | batch16 min ms/face | n |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| wasm ${r.name} | ${f(r.load)} | ${f(r.first)} | ${f(r.single.median)} | ${f(r.single.min)} | ${r.single.n} | ${f(r.batched.median)} | ${f(r.batched.min)} | ${r.batched.n} |`);
}
