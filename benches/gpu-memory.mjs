// GPU memory of a WebGPU verifier (issue 31, item 5): the bytes of the GPU buffers alive after
// loading, after a warm-up and after N calls, and how many buffers were made in between. An init
// script wraps `GPUDevice.createBuffer` and `GPUBuffer.destroy` on the page and keeps the sum of
// the live buffers' sizes (what the page asked the GPU for: burn's memory pool included, the
// browser's own buffers not). One verifier, inline (`backend: 'webgpu'`, so that its buffers are
// the page's), each call `embed` of an aligned crop (`face: 'none'`: the embedder with its flip,
// the default), and every 10th call also `embedBatch` of 16 crops. On SwiftShader a call takes
// about a second: the figures in docs/BENCHMARKS.md come from the test's 20; a real GPU runs the
// 1 000 in seconds.
//
// `--check` exits with 1 when the live bytes after N calls exceed those after the warm-up (a
// pool that keeps growing: a leak); tests/browser/gpu-memory.test.mjs runs it that way.
// Usage: node benches/gpu-memory.mjs [--calls 1000] [--warmup 10] [--check]
import { parseArgs } from 'node:util';
import { openPage, start } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '10' },
    check: { type: 'boolean', default: false },
  },
});

/** In the page, before any script: the live GPU buffers' bytes. */
function countGpuBuffers() {
  const sizes = new WeakMap();
  const memory = { liveBytes: 0, liveBuffers: 0, made: 0, peakBytes: 0 };
  window.gpuMemory = memory;
  const { createBuffer } = GPUDevice.prototype;
  GPUDevice.prototype.createBuffer = function (descriptor) {
    const buffer = createBuffer.call(this, descriptor);
    sizes.set(buffer, descriptor.size);
    memory.liveBytes += descriptor.size;
    memory.liveBuffers += 1;
    memory.made += 1;
    memory.peakBytes = Math.max(memory.peakBytes, memory.liveBytes);
    return buffer;
  };
  const { destroy } = GPUBuffer.prototype;
  GPUBuffer.prototype.destroy = function () {
    const size = sizes.get(this);
    if (size !== undefined) {
      sizes.delete(this);
      memory.liveBytes -= size;
      memory.liveBuffers -= 1;
    }
    return destroy.call(this);
  };
}

const env = await start();
let failed = false;
try {
  const { page, errors } = await openPage(env.browser, `${env.url}blank.html`, countGpuBuffers);
  const phases = await page.evaluate(async ({ calls, warmup }) => {
    const { Verifier } = await import('./webverify/index.js');
    const snapshot = (phase, at) => ({ phase, calls: at, ...window.gpuMemory });
    const crop = (seed) => {
      const image = new ImageData(112, 112);
      for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 31 + seed * 97 + (i >> 8) * 7) % 256;
      return image;
    };
    const crops = Array.from({ length: 16 }, (_, i) => crop(i));
    const out = [snapshot('before create', 0)];
    const v = await Verifier.create({ backend: 'webgpu', worker: false, detectorUrl: null });
    out.push(snapshot('after create (load)', 0));
    const call = async (i) => {
      await v.embed(crops[i % 16], { face: 'none' });
      if (i % 10 === 9) await v.embedBatch(crops, { face: 'none' });
    };
    for (let i = 0; i < warmup; i++) await call(i);
    out.push(snapshot('after the warm-up', warmup));
    for (let i = warmup; i < warmup + calls; i++) await call(i);
    out.push(snapshot(`after ${calls} more calls`, warmup + calls));
    const { backend } = v;
    v.dispose();
    // dispose() is answered asynchronously, inline too. What it gives back is measured: burn
    // keeps its pool with the page's device, for the next verifier (docs/BENCHMARKS.md).
    await new Promise((resolve) => setTimeout(resolve, 500));
    out.push(snapshot('after dispose', warmup + calls));
    return { rows: out, backend };
  }, { calls: Number(values.calls), warmup: Number(values.warmup) });
  if (errors.length) throw new Error(errors.join('; '));
  const mib = (n) => (n / 2 ** 20).toFixed(2);
  console.log(`backend: ${phases.backend}`);
  console.log('| phase | calls | live GPU buffers | live MiB | peak MiB | buffers made so far |');
  console.log('|---|---|---|---|---|---|');
  for (const r of phases.rows) console.log(`| ${r.phase} | ${r.calls} | ${r.liveBuffers} | ${mib(r.liveBytes)} | ${mib(r.peakBytes)} | ${r.made} |`);
  console.log(`\n(each call: embed of one crop; every 10th also embedBatch of 16); ${new Date().toISOString()}`);
  const [warm, last] = [phases.rows[3], phases.rows[4]];
  if (values.check && last.liveBytes > warm.liveBytes) {
    console.error(`the live GPU bytes grew from ${warm.liveBytes} after the warm-up to ${last.liveBytes} after ${values.calls} more calls`);
    failed = true;
  }
} finally {
  await env.close();
}
if (failed) process.exitCode = 1;
