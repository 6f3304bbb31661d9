// What a visitor waits for and downloads before the first answer: ours beside TF.js and ONNX
// Runtime Web running the same MobileFaceNet, in one Chromium, for a cold visit (fresh profile:
// empty HTTP cache and Cache API) and a warm one (the same profile, a new page), unthrottled and
// throttled (20 Mbit/s, 40 ms RTT: CDP Network.emulateNetworkConditions). Every site is served
// locally by the same server the way a static host does: gzip, `cache-control: public,
// max-age=3600`.
//
// Per visit: bytes on the wire (CDP: the sum of every request's encodedDataLength, headers
// included; files from the HTTP cache or the Cache API count 0), time to `create()` and to the
// first verification, both from the `create()` call (the issue's measure), and from navigation
// start to the first verification (everything).
// - ours: the package's JS imported (its time in its own column: a page's scripts, as the
//   peers' pages load theirs before their runs start), then
//   `await Verifier.create({ backend: 'cpu', worker: false })` (the default modules and
//   weights, detector included), then `verify(a, b)` of two reference photos (detection,
//   alignment, two embeddings). Inline, so that the page's CDP session sees and throttles every
//   request (a worker's requests are not emulated).
// - peers: their own bench pages (../shared/peers), the page loading only what the run uses (TF.js:
//   core, converter and the wasm backend; ORT: its wasm bundle); create = runtime init + model
//   load, first verification = two single-image embeddings (aligned 112x112 inputs: no detector,
//   so less work and fewer bytes than ours).
// Rounds: a fresh profile each; the table gives median and minimum. No timing is asserted.
//
// Usage: node benches/load.mjs [--rounds 3] [--peers-dir build/peers] [--only ours,tfjs,ort]
// Needs `make site` and the peers with their npm packages (`make bench-load` does both).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, ROOT } from '../tests/browser/harness.mjs';
import { PHOTOS, peerSites } from './peer-sites.mjs';
import { scratchDir } from '../tools/scratch.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'ours,tfjs,ort' },
    'peers-dir': { type: 'string', default: join(ROOT, 'build/peers') },
  },
});
const rounds = Number(values.rounds);
const NETWORKS = {
  unthrottled: null,
  '20 Mbit/s, 40 ms': { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 20e6 / 8 },
};
const { engines: ENGINES, close } = await peerSites(values['peers-dir']);

async function ours(page) {
  return page.evaluate(async (pngs) => {
    const bitmaps = await Promise.all(pngs.map((b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }))));
    // The package's JS is imported first, as a page loads its scripts (the peers' pages load
    // theirs before `runBench`): the issue's times run from the `create()` call. The import's
    // own time is reported beside them, and `fromNavigation` counts everything.
    const tImport = performance.now();
    const { Verifier } = await import('./webverify/index.js');
    const t0 = performance.now();
    const v = await Verifier.create({ backend: 'cpu', worker: false });
    const t1 = performance.now();
    const result = await v.verify(bitmaps[0], bitmaps[1]);
    const t2 = performance.now();
    return { import: t0 - tImport, create: t1 - t0, first: t2 - t0, fromNavigation: t2, module: v.wasmModule, model: v.model.id, similarity: result.similarity };
  }, PHOTOS);
}

async function peer(page, cfg) {
  return page.evaluate(async (cfg) => {
    const t0 = performance.now();
    const r = await window.runBench({ ...cfg, warmup: 0, n1: 1, n16: 1 });
    if (r.error) throw new Error(r.error);
    const create = (r.init_ms ?? 0) + r.load_ms;
    const first = create + r.b1.first_ms + r.b1.times[0];
    return { create, first, fromNavigation: t0 + first };
  }, cfg);
}

/** One visit of `engine` in `context`: a new page, throttled when `network` is given. */
async function visit(context, kind, network) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  if (network) await cdp.send('Network.emulateNetworkConditions', network);
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.setDefaultTimeout(300_000);
  await page.goto(ENGINES[kind].url());
  const r = kind === 'ours' ? await ours(page) : await peer(page, ENGINES[kind].cfg);
  // Requests still finishing (a cache write's read-back does not touch the network).
  await new Promise((resolve) => setTimeout(resolve, 200));
  await page.close();
  if (errors.length) throw new Error(`${kind}: ${errors.join('; ')}`);
  return { ...r, bytes };
}

const results = [];
try {
  for (let round = 0; round < rounds; round++) {
    for (const [network, conditions] of Object.entries(NETWORKS)) {
      for (const kind of values.only.split(',')) {
        const profile = scratchDir('webverify-load-');
        const context = await chromium.launchPersistentContext(profile, {
          executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--headless'], headless: true,
        });
        try {
          for (const visitKind of ['cold', 'warm']) {
            const r = await visit(context, kind, conditions);
            results.push({ kind, network, visit: visitKind, ...r });
            process.stderr.write(`round ${round + 1} ${network} ${kind} ${visitKind}: ${(r.bytes / 1e6).toFixed(2)} MB, create ${r.create.toFixed(0)} ms, first verification ${r.first.toFixed(0)} ms${r.module ? ` (${r.module} module, ${r.model}, similarity ${r.similarity.toFixed(3)})` : ''}\n`);
          }
        } finally {
          await context.close();
          rmSync(profile, { recursive: true, force: true });
        }
      }
    }
  }
} finally {
  close();
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const both = (xs, f) => `${f(median(xs))} / ${f(Math.min(...xs))}`;
const ms = (x) => x.toFixed(0);
console.log(`| engine | network | visit | MB on the wire | JS import ms | create ms (median / min) | first verification ms, from the create call | from navigation | rounds |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const kind of values.only.split(',')) {
  for (const network of Object.keys(NETWORKS)) {
    for (const visitKind of ['cold', 'warm']) {
      const rs = results.filter((r) => r.kind === kind && r.network === network && r.visit === visitKind);
      console.log(`| ${ENGINES[kind].id} | ${network} | ${visitKind} | ${(median(rs.map((r) => r.bytes)) / 1e6).toFixed(2)} | ${kind === 'ours' ? both(rs.map((r) => r.import), ms) : 'in page load'} | ${both(rs.map((r) => r.create), ms)} | ${both(rs.map((r) => r.first), ms)} | ${both(rs.map((r) => r.fromNavigation), ms)} | ${rs.length} |`);
    }
  }
}
console.log(`\n${new Date().toISOString()}, ${process.platform} ${process.arch}, ${process.env.CHROMIUM ?? "/usr/bin/chromium"}`);
