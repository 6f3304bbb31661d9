// Soak: a long session in one verifier must not grow. Embeds `--embeds` ready crops one call at a
// time and runs `--identifies` searches over a 200-person gallery, in headless Chromium, in the
// worker (default) or inline, sampling every `--every` calls: the page's JS heap
// (performance.memory), the engine's wasm memory (read from the thread that owns the engine) and
// the time per call. Prints a Markdown table and the growth after warm-up (from the second sample
// on). Needs `make site`. docs/RELIABILITY.md has the figures and the bound.
// Usage: node benches/soak.mjs [--backend cpu|webgpu] [--inline] [--embeds 10000] [--identifies 1000] [--every 500]
import { parseArgs } from 'node:util';
import { openPage, start } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cpu' },
    inline: { type: 'boolean', default: false },
    embeds: { type: 'string', default: '10000' },
    identifies: { type: 'string', default: '1000' },
    every: { type: 'string', default: '500' },
  },
});
const worker = !values.inline;
const [embeds, identifies, every] = [values.embeds, values.identifies, values.every].map(Number);

const env = await start({ args: ['--enable-precise-memory-info'] });
try {
  const { page } = await openPage(env.browser, `${env.url}blank.html`);
  await page.evaluate(async ({ backend, worker }) => {
    const { Verifier } = await import('./webverify/index.js');
    window.v = await Verifier.create({ backend, worker });
    let state = 7;
    const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
    window.unit = () => { const x = Float32Array.from({ length: 192 }, random); const n = Math.hypot(...x); return x.map((y) => y / n); };
    window.crop = { data: Uint8Array.from({ length: 112 * 112 * 3 }, (_, i) => (i * 31) % 256), width: 112, height: 112 };
    window.g = v.createGallery();
    for (let i = 0; i < 200; i++) await g.enroll(`p${i}`, [unit()]);
  }, { backend: values.backend, worker });

  /** The wasm memory of the thread that owns the engine: wasm-bindgen's init returns the
   * already-instantiated exports when called again. */
  const wasmBytes = async () => {
    const read = async () => (await (await import(`${location.origin}/webverify/wasm/webverify.js`)).default()).memory.buffer.byteLength;
    return worker ? page.workers()[0].evaluate(read) : page.evaluate(read);
  };
  const sample = async (phase, calls, ms) => ({
    phase,
    calls,
    heap: await page.evaluate(() => performance.memory.usedJSHeapSize),
    wasm: await wasmBytes(),
    ms,
  });
  const samples = [await sample('start', 0, null)];
  for (const [phase, total] of [['embed', embeds], ['identify', identifies]]) {
    for (let done = 0; done < total; done += every) {
      const n = Math.min(every, total - done);
      const ms = await page.evaluate(async ({ n, phase }) => {
        const call = phase === 'embed' ? () => v.embed(crop, { face: 'none' }) : () => g.identify(unit());
        const t = performance.now();
        for (let i = 0; i < n; i++) await call();
        return (performance.now() - t) / n;
      }, { n, phase });
      samples.push(await sample(phase, done + n, ms));
    }
  }
  const mb = (b) => (b / 1048576).toFixed(1);
  console.log(`| phase | calls | JS heap (page) MB | wasm memory MB | ms per call |`);
  console.log(`|---|---|---|---|---|`);
  for (const s of samples) console.log(`| ${s.phase} | ${s.calls} | ${mb(s.heap)} | ${mb(s.wasm)} | ${s.ms === null ? '—' : s.ms.toFixed(1)} |`);
  const warm = samples[Math.min(2, samples.length - 1)];
  const last = samples[samples.length - 1];
  console.log(`\nafter warm-up (${warm.phase} ${warm.calls} calls → ${last.phase} ${last.calls}): JS heap ${mb(last.heap - warm.heap)} MB, wasm memory ${mb(last.wasm - warm.wasm)} MB (${values.backend}, ${worker ? 'worker' : 'inline'})`);
} finally {
  await env.close();
}
