// Browser benchmark of 1:N search: `gallery.identify(embedding)` over N random unit templates
// of 192 floats, per backend, in headless Chromium. The first search uploads the matrix to the
// device; later ones send only the probe. Needs `make site`. Prints a Markdown table.
// Usage: node benches/identify.mjs [--backends webgpu,flex] [--templates 100000] [--runs 30]
import { parseArgs } from 'node:util';
import { openPage, start } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'webgpu,flex' },
    templates: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '30' },
  },
});

const env = await start();
const rows = [];
try {
  for (const backend of values.backends.split(',')) {
    const { page } = await openPage(env.browser, `${env.url}blank.html`);
    rows.push(await page.evaluate(async ({ backend, templates, runs }) => {
      const { Verifier } = await import('./webverify/index.js');
      const v = await Verifier.create({ backend });
      // The same LCG as `webverify bench-identify`'s idea: deterministic data, no dependency.
      let state = 1;
      const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
      const unit = () => { const x = Float32Array.from({ length: 192 }, random); const n = Math.hypot(...x); return x.map((y) => y / n); };
      const g = v.createGallery();
      let t = performance.now();
      for (let i = 0; i < templates; i++) await g.enroll(`p${i}`, [unit()]);
      const enrollMs = performance.now() - t;
      const probes = Array.from({ length: runs }, unit);
      t = performance.now();
      await g.identify(probes[0], { far: 0.05 });
      const first = performance.now() - t;
      const ms = [];
      for (const p of probes) {
        const s = performance.now();
        await g.identify(p, { far: 0.05 }); // 1e-3 needs a per-comparison FAR the calibration cannot support at 100k
        ms.push(performance.now() - s);
      }
      ms.sort((a, b) => a - b);
      const name = v.backend;
      g.dispose();
      v.dispose();
      return { name, enrollMs, first, median: ms[Math.floor(ms.length / 2)], min: ms[0], n: ms.length };
    }, { backend, templates: Number(values.templates), runs: Number(values.runs) }));
    await page.close();
  }
} finally {
  await env.close();
}
const f = (x) => x.toFixed(2);
console.log(`Chromium ${env.browser.browser()?.version() ?? ''} headless, ${new Date().toISOString().slice(0, 10)}, ${values.templates} templates x 192`);
console.log('| backend | enroll all ms | first search ms (upload) | median ms | min ms | n |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| wasm ${r.name} | ${f(r.enrollMs)} | ${f(r.first)} | ${f(r.median)} | ${f(r.min)} | ${r.n} |`);
