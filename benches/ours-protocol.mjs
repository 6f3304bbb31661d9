// The peers' benchmark protocol (their bench.js's `runBench`) as the speed benchmarks share it
// (peers.mjs, gpu.mjs, gpu-dispatch.mjs): our engine under it, the peers' configurations per
// backend, their servers, and the median the tables print.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The peers' runs of MobileFaceNet, by peer and backend: a table row's name and bench.js's cfg. */
export const PEER_RUNS = {
  tfjs: {
    webgpu: { id: 'TF.js 4.22 webgpu', cfg: { backend: 'webgpu', threads: 0 } },
    cpu: { id: 'TF.js 4.22 wasm-SIMD, 1 thread', cfg: { backend: 'wasm', threads: 0 } },
  },
  ort: {
    webgpu: { id: 'ORT Web 1.30 webgpu', cfg: { ep: 'webgpu', threads: 1, bundle: 'ort.webgpu.min.mjs' } },
    cpu: { id: 'ORT Web 1.30 wasm-SIMD, 1 thread', cfg: { ep: 'wasm', threads: 1, bundle: 'ort.wasm.min.mjs' } },
  },
};

/** Starts the peers' own servers (their server.mjs, from the copy `make peers` makes in
 * `peersDir`) for `kinds` ('tfjs', 'ort'); `{ kind: server }`. */
export async function startPeerServers(peersDir, kinds) {
  const servers = {};
  for (const kind of kinds) {
    if (!existsSync(join(peersDir, kind, 'node_modules'))) throw new Error(`${join(peersDir, kind)} has no node_modules: run 'make peers'`);
    const { startServer } = await import(join(peersDir, kind, 'server.mjs'));
    servers[kind] = await startServer(0, join(peersDir, kind));
  }
  return servers;
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// Our page: the same protocol as the peers' bench.js (first call, warm-ups, n timed calls per
// batch size), on the main thread like them, through the package's public API.
export async function runOurs(page, cfg) {
  return page.evaluate(async (cfg) => {
    const PIX = 112 * 112 * 3;
    const xorshift32 = (seed) => { let x = seed >>> 0 || 1; return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; }; };
    const images = (batch, seed) => {
      const rnd = xorshift32(seed);
      return Array.from({ length: batch }, () => {
        const rgba = new Uint8ClampedArray(112 * 112 * 4);
        for (let i = 0; i < PIX; i++) rgba[(i / 3 | 0) * 4 + i % 3] = rnd() & 255;
        for (let p = 0; p < 112 * 112; p++) rgba[p * 4 + 3] = 255;
        return new ImageData(rgba, 112, 112);
      });
    };
    const t0 = performance.now();
    const { Verifier } = await import('./webverify/index.js');
    // The f32 weights, as the peers run: the last column compares outputs (the default int8 file
    // embeds at the same speed).
    const modelUrl = new URL('./webverify-training/models/mobilefacenet.safetensors', location.href).href;
    const v = await Verifier.create({ backend: cfg.backend, worker: false, detectorUrl: null, wasmBuild: cfg.wasmBuild, modelUrl });
    const load = performance.now() - t0;
    const phase = async (batch, warmup, n) => {
      const input = images(batch, 12345 + batch);
      const infer = async () => { const s = performance.now(); const out = await v.embedRaw(input); return { dt: performance.now() - s, out }; };
      const first = await infer();
      for (let i = 0; i < warmup; i++) await infer();
      const times = [];
      let last;
      for (let i = 0; i < n; i++) { last = await infer(); times.push(last.dt); }
      return { batch, first_ms: first.dt, times, out_head: Array.from((last ?? first).out[0]) };
    };
    const res = { load_ms: load, backend: v.backend, userAgent: navigator.userAgent };
    res.b1 = await phase(1, cfg.warmup, cfg.n1);
    res.b16 = await phase(16, cfg.warmup, cfg.n16);
    // Batches of 64 where asked (bench-gpu: a GPU's advantage grows with the batch).
    if (cfg.n64) res.b64 = await phase(64, cfg.warmup, cfg.n64);
    v.dispose();
    return res;
  }, cfg);
}
