// Soak: a long session in one verifier must not grow. Embeds `--embeds` ready crops one call at a
// time and runs `--identifies` searches over a 200-person gallery, in headless Chromium, in the
// worker (default) or inline, sampling every `--every` calls: the page's JS heap
// (performance.memory), the engine's wasm memory (read from the thread that owns the engine) and
// the time per call, and on WebGPU inline the GPU buffers alive (created by the page's WebGPU
// device and neither destroyed nor collected: counted by wrapping `createBuffer`/`destroy` before
// the page loads; a worker cannot be wrapped that way). Prints a Markdown table and the growth
// after warm-up (from the second sample on). Needs `make site`. docs/RELIABILITY.md has the
// figures and the bound.
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
  const page = await env.browser.newPage();
  page.setDefaultTimeout(0);
  await page.addInitScript(() => {
    if (typeof GPUDevice === 'undefined') return;
    const live = new Map();
    const collected = new FinalizationRegistry((id) => live.delete(id));
    let next = 0;
    const { createBuffer } = GPUDevice.prototype;
    const { destroy } = GPUBuffer.prototype;
    GPUDevice.prototype.createBuffer = function (descriptor) {
      const buffer = createBuffer.call(this, descriptor);
      const id = next++;
      live.set(id, descriptor.size);
      buffer.__soakId = id;
      collected.register(buffer, id);
      return buffer;
    };
    GPUBuffer.prototype.destroy = function () {
      live.delete(this.__soakId);
      return destroy.call(this);
    };
    window.gpuBuffers = () => ({ count: live.size, bytes: [...live.values()].reduce((a, b) => a + b, 0) });
  });
  await page.goto(`${env.url}blank.html`);
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
   * already-instantiated exports when called again (the glue of the build in use). */
  // The glue of the module in use (both builds of a module share it: loading.js).
  const glue = { cpu: 'webverify_cpu.js', gpu: 'webverify_gpu.js', full: 'webverify.js' }[await page.evaluate(() => v.wasmModule)];
  const wasmBytes = async () => {
    const read = async (file) => (await (await import(`${location.origin}/webverify/wasm/${file}`)).default()).memory.buffer.byteLength;
    return worker ? page.workers()[0].evaluate(read, glue) : page.evaluate(read, glue);
  };
  const sample = async (phase, calls, ms) => ({
    phase,
    calls,
    heap: await page.evaluate(() => performance.memory.usedJSHeapSize),
    wasm: await wasmBytes(),
    gpu: await page.evaluate(() => window.gpuBuffers?.() ?? null),
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
  const gpu = (s) => (s.gpu ? `${s.gpu.count} / ${mb(s.gpu.bytes)}` : '—');
  console.log(`| phase | calls | JS heap (page) MB | wasm memory MB | GPU buffers alive / MB | ms per call |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const s of samples) console.log(`| ${s.phase} | ${s.calls} | ${mb(s.heap)} | ${mb(s.wasm)} | ${gpu(s)} | ${s.ms === null ? '—' : s.ms.toFixed(1)} |`);
  const warm = samples[Math.min(2, samples.length - 1)];
  const last = samples[samples.length - 1];
  const gpuGrowth = last.gpu && warm.gpu ? `, GPU buffers ${last.gpu.count - warm.gpu.count} (${mb(last.gpu.bytes - warm.gpu.bytes)} MB)` : '';
  console.log(`\nafter warm-up (${warm.phase} ${warm.calls} calls → ${last.phase} ${last.calls}): JS heap ${mb(last.heap - warm.heap)} MB, wasm memory ${mb(last.wasm - warm.wasm)} MB${gpuGrowth} (${values.backend}, ${worker ? 'worker' : 'inline'}, ${glue})`);
} finally {
  await env.close();
}
