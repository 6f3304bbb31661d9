// webverify beside its peers, in one Chromium, on the same inputs: our wasm build, TF.js 4.22
// (wasm backend, SIMD, one thread) and ONNX Runtime Web 1.30 (wasm EP, SIMD, one thread), all
// running MobileFaceNet on the page's main thread. Rounds alternate the order (ours, TF.js, ORT;
// then TF.js, ORT, ours; ...); every round opens a fresh page per engine, loads it, warms up,
// then times single images and batches of 16. Timed samples are pooled over the rounds: the table
// gives median and minimum per face and the ratios ours / peer. No timing is asserted anywhere.
//
// Each engine embeds the peers' synthetic input (xorshift32 bytes, seed 12346 / 12361, RGB
// (v − 127.5) / 128): ours receives the same bytes as pixels and does that normalisation itself
// (inside the timing; the peers' is outside it), and the table's last column is the largest
// |Δ| of our raw output from TF.js's on that input.
//
// Usage: node benches/peers.mjs [--rounds 3] [--singles 20] [--batches 5] [--warmup 5]
//          [--ours flex] [--webgpu] [--peers-dir build/peers]
// Needs `make site` and the peers copied from ../shared/peers with their npm packages
// (`make bench-peers` does both). --webgpu adds WebGPU on SwiftShader for all three: CPU
// emulation, a proxy for dispatch count and work per dispatch, not a GPU speed.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, openPage, start } from '../tests/browser/harness.mjs';
import { PEER_RUNS, median, runOurs, startPeerServers } from './ours-protocol.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    singles: { type: 'string', default: '20' },
    batches: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '5' },
    ours: { type: 'string', default: 'flex' },
    builds: { type: 'string', default: 'relaxed-simd,simd' },
    webgpu: { type: 'boolean', default: false },
    'peers-dir': { type: 'string', default: join(ROOT, 'build/peers') },
  },
});
const rounds = Number(values.rounds);
const protocol = { warmup: Number(values.warmup), n1: Number(values.singles), n16: Number(values.batches) };
const engines = (webgpu) => [
  ...(webgpu ? ['simd'] : values.builds.split(',')).map((wasmBuild) => ({
    id: webgpu ? 'webverify webgpu' : `webverify wasm ${values.ours}, ${wasmBuild}`, kind: 'ours', cfg: { backend: webgpu ? 'webgpu' : values.ours, wasmBuild },
  })),
  ...['tfjs', 'ort'].map((kind) => ({ kind, ...PEER_RUNS[kind][webgpu ? 'webgpu' : 'cpu'] })),
];

const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '–' : x.toFixed(d));

const env = await start();
const { tfjs, ort } = await startPeerServers(values['peers-dir'], ['tfjs', 'ort']);
const urls = { ours: `${env.url}blank.html`, tfjs: `http://127.0.0.1:${tfjs.address().port}/bench.html`, ort: `http://127.0.0.1:${ort.address().port}/bench.html` };
const results = new Map();
try {
  for (const webgpu of values.webgpu ? [false, true] : [false]) {
    const list = engines(webgpu);
    // Software WebGPU is 100x slower: fewer runs, as the peers' own harnesses do.
    const cfgProtocol = webgpu ? { warmup: 1, n1: 3, n16: 1, maxPhaseMs: 90_000 } : protocol;
    for (let round = 0; round < rounds; round++) {
      const order = list.map((_, i) => list[(i + round) % list.length]);
      for (const engine of order) {
        const { page, errors } = await openPage(env.browser, urls[engine.kind]);
        const cfg = { ...engine.cfg, ...cfgProtocol };
        const r = engine.kind === 'ours' ? await runOurs(page, cfg) : await page.evaluate((c) => window.runBench(c), cfg);
        await page.close();
        if (r.error || errors.length) throw new Error(`${engine.id}: ${r.error ?? errors.join('; ')}`);
        process.stderr.write(`round ${round + 1} ${engine.id}: single median ${fmt(median(r.b1.times), 2)} ms, batch16 ${fmt(median(r.b16.times) / 16, 2)} ms/face\n`);
        const all = results.get(engine.id) ?? { engine, runs: [] };
        all.runs.push(r);
        results.set(engine.id, all);
      }
    }
  }
} finally {
  await env.close();
  tfjs.close();
  ort.close();
}

const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const rows = [...results.values()].map(({ engine, runs }) => {
  const b1 = runs.flatMap((r) => r.b1.times);
  const b16 = runs.flatMap((r) => r.b16.times.map((t) => t / 16));
  return {
    engine, n1: b1.length, n16: b16.length,
    load: median(runs.map((r) => r.load_ms + (r.init_ms ?? 0))), first: median(runs.map((r) => r.b1.first_ms)),
    single: { median: median(b1), min: Math.min(...b1) }, batch: { median: median(b16), min: Math.min(...b16) },
    head: runs[0].b1.out_head, userAgent: runs[0].userAgent,
  };
});
const ours = (r) => rows.find((o) => o.engine.kind === 'ours' && o.engine.id.includes('webgpu') === r.engine.id.includes('webgpu'));
const ratio = (ours, peer) => `${fmt(ours.single.median / peer.single.median, 2)} / ${fmt(ours.batch.median / peer.batch.median, 2)}`;
console.log(`| engine | load ms | first ms | single median ms | single min ms | batch16 median ms/face | batch16 min ms/face | n single / batch | ours ÷ this (single / batch16 median) | max abs Δ of our output vs this |`);
console.log('|---|---|---|---|---|---|---|---|---|---|');
// The ratio and Δ columns compare the first of our rows (the relaxed-simd build by default).
for (const r of rows) {
  const o = ours(r);
  console.log(`| ${r.engine.id} | ${fmt(r.load)} | ${fmt(r.first)} | ${fmt(r.single.median, 2)} | ${fmt(r.single.min, 2)} | ${fmt(r.batch.median, 2)} | ${fmt(r.batch.min, 2)} | ${r.n1} / ${r.n16} | ${r === o ? '–' : ratio(o, r)} | ${r === o ? '–' : maxDiff(o.head, r.head).toExponential(1)} |`);
}
console.log(`\n${rounds} rounds, alternating order; load = runtime start + model fetch and build (TF.js/ORT: init + load; ours: Verifier.create without the detector).`);
const ua = rows.find((r) => r.engine.kind === 'ours')?.userAgent ?? '';
console.log(`${ua.match(/Chrome\/[\d.]+/)?.[0] ?? ''}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
