// What one embedding costs in WebGPU calls (issue 31, item 1): for ours, TF.js 4.22 (webgpu) and
// ONNX Runtime Web 1.30 (webgpu EP) on the same MobileFaceNet, the compute dispatches, queue
// submits (and command buffers), buffers created (and their bytes), writeBuffer uploads, buffer
// maps for reading (read-backs), and pipelines and bind groups created, per single embedding
// and per batch of 16, in the steady state.
//
// How: an init script wraps those methods of the page's WebGPU prototypes and counts every call.
// Each engine runs the peers' protocol (bench.js `runBench`; ours: ours-protocol.mjs) three times
// in fresh pages: (n1, n16) = (1, 1), (2, 1) and (1, 2), the same warm-up each time; the
// difference between the second run and the first is one steady single embedding, between the
// third and the first one steady batch of 16 (loading, compiling and warm-up cancel out). The
// counts do not depend on the adapter's speed: on SwiftShader (here) they are what a real GPU
// would be asked to do; the timings are not measured here.
// Usage: node benches/gpu-dispatch.mjs [--warmup 1] [--peers-dir build/peers] [--only ours,tfjs,ort]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, openPage, start } from '../tests/browser/harness.mjs';
import { PEER_RUNS, runOurs, startPeerServers } from './ours-protocol.mjs';

const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '1' },
    only: { type: 'string', default: 'ours,tfjs,ort' },
    'peers-dir': { type: 'string', default: join(ROOT, 'build/peers') },
  },
});
const kinds = values.only.split(',');
/** In the page, before any script: counters on the WebGPU calls. */
function countGpuCalls() {
  const c = { dispatches: 0, submits: 0, commandBuffers: 0, buffers: 0, bufferBytes: 0, writes: 0, readBacks: 0, pipelines: 0, bindGroups: 0 };
  // Dispatches per kernel: the label of the pipeline set before each (burn's cubecl names its
  // pipelines after the kernel's entry point; an engine without labels counts as '(unlabelled)').
  const kernels = {};
  let pipeline = '(none)';
  window.gpuCalls = c;
  window.gpuKernels = kernels;
  const wrap = (proto, name, count) => {
    const original = proto?.[name];
    if (!original) return;
    proto[name] = function (...args) {
      count(...args);
      return original.apply(this, args);
    };
  };
  const dispatched = () => {
    c.dispatches++;
    kernels[pipeline] = (kernels[pipeline] ?? 0) + 1;
  };
  wrap(globalThis.GPUComputePassEncoder?.prototype, 'setPipeline', (p) => { pipeline = p?.label || '(unlabelled)'; });
  wrap(globalThis.GPUComputePassEncoder?.prototype, 'dispatchWorkgroups', dispatched);
  wrap(globalThis.GPUComputePassEncoder?.prototype, 'dispatchWorkgroupsIndirect', dispatched);
  wrap(globalThis.GPUQueue?.prototype, 'submit', (buffers) => { c.submits++; c.commandBuffers += buffers.length; });
  wrap(globalThis.GPUQueue?.prototype, 'writeBuffer', () => { c.writes++; });
  wrap(globalThis.GPUDevice?.prototype, 'createBuffer', (d) => { c.buffers++; c.bufferBytes += d.size; });
  wrap(globalThis.GPUDevice?.prototype, 'createComputePipeline', () => { c.pipelines++; });
  wrap(globalThis.GPUDevice?.prototype, 'createComputePipelineAsync', () => { c.pipelines++; });
  wrap(globalThis.GPUDevice?.prototype, 'createBindGroup', () => { c.bindGroups++; });
  wrap(globalThis.GPUBuffer?.prototype, 'mapAsync', (mode) => { if (mode & 1 /* GPUMapMode.READ */) c.readBacks++; });
}

const env = await start();
const servers = await startPeerServers(values['peers-dir'], kinds.filter((k) => k !== 'ours'));
const peerUrl = (kind) => `http://127.0.0.1:${servers[kind].address().port}/bench.html`;
const ENGINES = {
  ours: { id: 'webverify (webgpu)', url: () => `${env.url}blank.html`, cfg: { backend: 'webgpu', wasmBuild: 'simd' } },
  tfjs: { ...PEER_RUNS.tfjs.webgpu, url: () => peerUrl('tfjs') },
  ort: { ...PEER_RUNS.ort.webgpu, url: () => peerUrl('ort') },
};

/** One fresh page of `kind` with n1 single and n16 batched timed calls: the counters after. */
async function counted(kind, n1, n16) {
  const engine = ENGINES[kind];
  const { page, errors } = await openPage(env.browser, engine.url(), countGpuCalls);
  const cfg = { ...engine.cfg, warmup: Number(values.warmup), n1, n16, maxPhaseMs: 600_000 };
  const r = kind === 'ours' ? await runOurs(page, cfg) : await page.evaluate((c) => window.runBench(c), cfg);
  const calls = await page.evaluate(() => ({ ...window.gpuCalls, kernels: window.gpuKernels }));
  await page.close();
  if (r.error || errors.length) throw new Error(`${engine.id}: ${r.error ?? errors.join('; ')}`);
  return calls;
}

/** Kernel names with their numbers folded away (`conv2d_f32_3x3_s2` and `_s1` stay apart;
 * `elemwise_fuse_1234` → `elemwise_fuse_#`): one row per kind of kernel. */
const kernelKind = (name) => name.replace(/_?[0-9a-f]{8,}\b/g, '').replace(/\d{3,}/g, '#');
const byKind = (kernels) => {
  const out = {};
  for (const [name, n] of Object.entries(kernels)) out[kernelKind(name)] = (out[kernelKind(name)] ?? 0) + n;
  return out;
};
const kernelsMinus = (a, b) => {
  const before = byKind(b);
  return Object.fromEntries(Object.entries(byKind(a)).map(([n, v]) => [n, v - (before[n] ?? 0)]).filter(([, v]) => v));
};
const minus = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, k === 'kernels' ? kernelsMinus(a.kernels, b.kernels) : a[k] - b[k]]));
const rows = [];
try {
  for (const kind of kinds) {
    const base = await counted(kind, 1, 1);
    const single = minus(await counted(kind, 2, 1), base);
    const batch = minus(await counted(kind, 1, 2), base);
    process.stderr.write(`${ENGINES[kind].id}: single ${JSON.stringify({ ...single, kernels: undefined })}, batch16 ${JSON.stringify({ ...batch, kernels: undefined })}\n`);
    rows.push({ id: ENGINES[kind].id, single, batch });
  }
} finally {
  await env.close();
  for (const s of Object.values(servers)) s?.close();
}

const kb = (n) => (n / 1024).toFixed(0);
const cells = (c) => [c.dispatches, `${c.submits} / ${c.commandBuffers}`, `${c.buffers} (${kb(c.bufferBytes)} KiB)`, c.writes, c.readBacks, c.pipelines, c.bindGroups];
console.log('| engine | input | dispatches | submits / command buffers | buffers created (bytes) | writeBuffer | read-backs (mapAsync READ) | pipelines created | bind groups created |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.id} | one face | ${cells(r.single).join(' | ')} |`);
  console.log(`| ${r.id} | batch of 16 | ${cells(r.batch).join(' | ')} |`);
}
console.log('\nDispatches per single embedding, by kernel (pipeline label, numbers folded):');
for (const r of rows) {
  const list = Object.entries(r.single.kernels).sort((x, y) => y[1] - x[1]).map(([n, v]) => `${n} ${v}`);
  console.log(`- ${r.id}: ${list.join(', ')}`);
}
console.log(`\nSteady state (the difference of two runs that differ by one call), warm-up ${values.warmup}; ${new Date().toISOString()}.`);
