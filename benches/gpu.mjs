// `make bench-gpu` (issue 31, item 4): WebGPU speed on a machine with a real GPU, ours beside the
// peers, with the CPU rows of the same run for scale. Chromium is started with the flags a
// headless Linux GPU needs (Vulkan, the GPU blocklist ignored); the adapter's information is
// printed first, and a software (fallback) adapter is refused: its figures would not be GPU
// figures. `--proxy` runs the same on SwiftShader (what this development machine has) and labels
// every row a proxy: the command's test (tests/browser/bench-gpu.test.mjs) runs it that way.
//
// Rows per engine and backend: load (runtime start + model), first call, single median / min,
// batch of 16 and (ours) 64 per face, median. The peers' own page times batches of 1 and 16.
// Usage: node benches/gpu.mjs [--proxy] [--only ours,tfjs,ort] [--rounds 3] [--singles 20]
//          [--batches 5] [--warmup 3] [--peers-dir build/peers]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { serve } from '../tools/serve.mjs';
import { CHROMIUM_ARGS, ROOT, SITE } from '../tests/browser/harness.mjs';
import { PEER_RUNS, median, runOurs, startPeerServers } from './ours-protocol.mjs';
import { scratchDir } from '../tools/scratch.mjs';

const { values } = parseArgs({
  options: {
    proxy: { type: 'boolean', default: false },
    only: { type: 'string', default: 'ours,tfjs,ort' },
    rounds: { type: 'string', default: '3' },
    singles: { type: 'string', default: '20' },
    batches: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    'peers-dir': { type: 'string', default: join(ROOT, 'build/peers') },
  },
});
const kinds = values.only.split(',');

/** A real GPU under headless Linux: Vulkan for WebGPU (Dawn), the blocklist ignored (headless
 * and server drivers are often on it), no software fallback. */
const GPU_ARGS = ['--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-sync',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=native', '--ignore-gpu-blocklist', '--enable-gpu', '--disable-vulkan-fallback-to-gl-for-testing'];
const args = values.proxy ? CHROMIUM_ARGS : GPU_ARGS;

const browser = await chromium.launchPersistentContext(scratchDir('webverify-bench-gpu-'), {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args, ignoreDefaultArgs: ['--headless'], headless: true,
});
const site = await serve(SITE, 0);
const servers = { ours: site, ...await startPeerServers(values['peers-dir'], kinds.filter((k) => k !== 'ours')) };
const url = (kind) => `http://127.0.0.1:${servers[kind].address().port}/${kind === 'ours' ? 'blank.html' : 'bench.html'}`;

try {
  const page = await browser.newPage();
  await page.goto(url('ours'));
  const adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter();
    if (!a) return null;
    const i = a.info ?? {};
    return { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, fallback: i.isFallbackAdapter ?? a.isFallbackAdapter ?? false };
  });
  await page.close();
  console.log(`adapter: ${adapter ? JSON.stringify(adapter) : 'none'}`);
  if (!adapter) {
    console.error('no WebGPU adapter: nothing to measure (check the GPU driver and Vulkan: vulkaninfo)');
    process.exitCode = 2;
  } else if (adapter.fallback && !values.proxy) {
    console.error(`the adapter is a software one (${adapter.vendor} ${adapter.architecture}): its figures are not GPU figures; run with --proxy to measure it as a proxy`);
    process.exitCode = 2;
  } else {
    await measure(adapter);
  }
} finally {
  await browser.close();
  for (const s of Object.values(servers)) s.close();
}

async function measure(adapter) {
  const label = values.proxy ? `proxy: ${adapter.vendor} ${adapter.architecture}, software` : `${adapter.vendor} ${adapter.architecture}`;
  const protocol = { warmup: Number(values.warmup), n1: Number(values.singles), n16: Number(values.batches), maxPhaseMs: 300_000 };
  const engines = [
    ...(kinds.includes('ours') ? [
      { kind: 'ours', id: 'webverify webgpu', gpu: true, cfg: { backend: 'webgpu', wasmBuild: 'simd', n64: Number(values.batches) } },
      { kind: 'ours', id: 'webverify cpu (relaxed-simd)', gpu: false, cfg: { backend: 'cpu', n64: Number(values.batches) } },
    ] : []),
    ...kinds.filter((k) => k !== 'ours').flatMap((kind) => ['webgpu', 'cpu'].map((backend) => ({ kind, gpu: backend === 'webgpu', ...PEER_RUNS[kind][backend] }))),
  ];
  const runs = new Map();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const engine of engines.map((_, i) => engines[(i + round) % engines.length])) {
      const page = await browser.newPage();
      await page.goto(url(engine.kind));
      const cfg = { ...protocol, ...engine.cfg };
      const r = engine.kind === 'ours' ? await runOurs(page, cfg) : await page.evaluate((c) => window.runBench(c), cfg);
      await page.close();
      if (r.error) throw new Error(`${engine.id}: ${r.error}`);
      if (engine.kind === 'ours' && engine.gpu && !r.backend.startsWith('webgpu')) throw new Error(`ours ran on ${r.backend}, not WebGPU`);
      runs.set(engine.id, [...(runs.get(engine.id) ?? []), r]);
      process.stderr.write(`round ${round + 1} ${engine.id}: single ${median(r.b1.times).toFixed(2)} ms\n`);
    }
  }
  console.log(`| engine | backend | load ms | first ms | single median / min ms | batch16 ms/face | batch64 ms/face |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const engine of engines) {
    const rs = runs.get(engine.id);
    const pooled = (key, per) => rs.flatMap((r) => (r[key]?.times ?? []).map((t) => t / per));
    const [b1, b16, b64] = [pooled('b1', 1), pooled('b16', 16), pooled('b64', 64)];
    const cell = (xs) => (xs.length ? median(xs).toFixed(2) : '–');
    const least = (xs) => (xs.length ? Math.min(...xs).toFixed(2) : '–');
    const load = median(rs.map((r) => r.load_ms + (r.init_ms ?? 0)));
    console.log(`| ${engine.id} | ${engine.gpu ? label : 'CPU'} | ${load.toFixed(0)} | ${median(rs.map((r) => r.b1.first_ms)).toFixed(0)} | ${cell(b1)} / ${least(b1)} | ${cell(b16)} | ${cell(b64)} |`);
  }
  console.log(`\n${values.rounds} rounds, alternating order; ${values.proxy ? 'PROXY MODE: WebGPU rows ran on a software adapter and are not GPU figures.' : 'WebGPU rows on the adapter above.'}`);
}
