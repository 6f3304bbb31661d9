// Browser benchmark of on-device fine-tuning in headless Chromium: time per training step (the
// median of the gaps between progress reports, first step left out: it compiles kernels) for
// each backend and trainable scope, at the batch size of the Yale B recipes (32 images = 64
// augmented views of 112x112).
// Usage: node benches/finetune.mjs [--backends flex,webgpu] [--scopes adapter,head,all] [--steps 6] [--batch 32]
// Needs `make site`. On SwiftShader (no GPU) WebGPU is a CPU emulation, not a GPU figure.
import { parseArgs } from 'node:util';
import { openPage, start } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'flex,webgpu' },
    scopes: { type: 'string', default: 'adapter,head,all' },
    steps: { type: 'string', default: '6' },
    batch: { type: 'string', default: '32' },
  },
});

const env = await start();
const rows = [];
try {
  for (const backend of values.backends.split(',')) {
    const { page } = await openPage(env.browser, `${env.url}blank.html`);
    for (const trainable of values.scopes.split(',')) {
      const r = await page.evaluate(async ({ backend, trainable, steps, batch }) => {
        const { Verifier } = await import('./webverify/index.js');
        const { training } = await import('./webverify-training/index.js');
        const v = await Verifier.create({ backend, worker: false, training });
        // 64 deterministic noise "faces" of 16 classes: the cost does not depend on the pixels.
        const images = Array.from({ length: 64 }, (_, k) => new ImageData(new Uint8ClampedArray(112 * 112 * 4).map((_, i) => (i * (k + 3)) % 251), 112, 112));
        const labels = images.map((_, k) => k % 16);
        const at = [];
        const t0 = performance.now();
        await v.fineTune({ images, labels, face: 'none', loss: 'supcon', trainable, steps, batchSize: batch, lr: 1e-4, onProgress: () => at.push(performance.now()) });
        const gaps = at.slice(1).map((t, i) => t - at[i]).sort((a, b) => a - b);
        const name = v.backend;
        v.dispose();
        return { name, trainable, first: at[0] - t0, median: gaps[Math.floor(gaps.length / 2)], min: gaps[0], n: gaps.length };
      }, { backend, trainable, steps: Number(values.steps), batch: Number(values.batch) });
      rows.push(r);
      console.error(JSON.stringify(r));
    }
    await page.close();
  }
} finally {
  await env.close();
}
const f = (x) => x.toFixed(0);
console.log(`Chromium ${env.browser.browser()?.version() ?? ''} headless, ${new Date().toISOString().slice(0, 10)}, batch ${values.batch} images (${2 * Number(values.batch)} views)`);
console.log('| backend | trainable | first step ms (incl. set-up) | median ms/step | min ms/step | steps timed |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.trainable} | ${f(r.first)} | ${f(r.median)} | ${f(r.min)} | ${r.n} |`);
