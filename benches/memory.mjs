// Memory per phase of a CPU verifier's life, and what each engine module costs to compile.
//
// Phases, in one page, in order (inline, `backend: 'cpu'`, so that the engine's memory is the
// page's): the package imported; create (load); verify a pair of photos; identify over 10 000
// templates (random unit embeddings enrolled, then 10 searches); passive liveness (3 frames);
// a challenge (12 frames of a canvas stream of a photo); fine-tuning, 20 steps of 32 images (the
// training module loads first). After each phase:
// - wasm memory: the linear memory of every engine module loaded (the glue's exports, reached
//   through the module the package itself imported): it only grows, so it is the peak so far;
// - JS heap: used bytes (CDP Runtime.getHeapUsage), at the end of the phase;
// - the renderer process's peak and current resident memory (VmHWM, VmRSS in /proc; Linux),
//   which holds both and the compiled code.
// Modules: for each (cpu, gpu, full; the build this Chromium loads), in a fresh browser, the
// time of WebAssembly.compile at CPU throttling 1x and 4x (median of 3) and the renderer's
// resident memory before and after (the compiled module held).
//
// Usage: node benches/memory.mjs [--templates 10000] [--steps 20] [--batch 32]
// Needs `make site` and ../shared (two photos). No figure is asserted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, SHARED, SITE } from '../tests/browser/harness.mjs';
import { serve } from '../tools/serve.mjs';

const { values } = parseArgs({
  options: {
    templates: { type: 'string', default: '10000' },
    steps: { type: 'string', default: '20' },
    batch: { type: 'string', default: '32' },
  },
});
const photos = ['face_00_faceid.png', 'face_01_facematch_selected.png']
  .map((n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64'));

const server = await serve(SITE, 0, '127.0.0.1', { compress: true, cacheControl: 'public, max-age=3600' });
const url = `http://127.0.0.1:${server.address().port}/blank.html`;

/** `{ hwm, rss }` in bytes of the largest renderer process (the page's: the others are idle). */
async function renderer(browserCdp) {
  const { processInfo } = await browserCdp.send('SystemInfo.getProcessInfo');
  let best = { hwm: 0, rss: 0 };
  for (const p of processInfo.filter((x) => x.type === 'renderer')) {
    let status;
    try { status = readFileSync(`/proc/${p.id}/status`, 'utf8'); } catch { continue; }
    const kb = (k) => Number(status.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) * 1024;
    if (kb('VmRSS') > best.rss) best = { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  }
  return best;
}

async function launch() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--headless'], headless: true });
  const page = await browser.newPage();
  page.setDefaultTimeout(900_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const cdp = await page.context().newCDPSession(page);
  const browserCdp = await browser.newBrowserCDPSession();
  await page.goto(url);
  return { browser, page, cdp, browserCdp, errors };
}

const mb = (n) => (n / 1048576).toFixed(1);
const phases = [];
{
  const { browser, page, cdp, browserCdp, errors } = await launch();
  const record = async (phase, extra = {}) => {
    const wasm = await page.evaluate(async () => {
      // The glues the package imported (the same URLs: the same module instances); a glue
      // whose module is loaded hands back its exports, memory included.
      const out = {};
      for (const kind of window.loadedModules ?? []) {
        const glue = await import(`./webverify/wasm/${kind}.js`);
        out[kind] = (await glue.default()).memory.buffer.byteLength;
      }
      return out;
    });
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    const proc = await renderer(browserCdp);
    phases.push({ phase, wasm, js: usedSize, ...proc, ...extra });
    process.stderr.write(`${phase}: wasm ${JSON.stringify(Object.fromEntries(Object.entries(wasm).map(([k, v]) => [k, mb(v)])))} MB, JS ${mb(usedSize)} MB, renderer peak ${mb(proc.hwm)} MB, now ${mb(proc.rss)} MB\n`);
  };
  const step = (name, f, arg) => page.evaluate(f, arg).then((extra) => record(name, extra));

  await step('the package imported', async (pngs) => {
    window.photos = await Promise.all(pngs.map((b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }))));
    window.webverify = await import('./webverify/index.js');
    window.training = (await import('./webverify-training/index.js')).training;
  }, photos);
  await step('create (load)', async () => {
    window.v = await window.webverify.Verifier.create({ backend: 'cpu', worker: false, training: window.training });
    window.loadedModules = [{ cpu: 'webverify_cpu', gpu: 'webverify_gpu', full: 'webverify' }[window.v.wasmModule]];
    return { note: `${window.v.wasmModule} module, ${window.v.wasmBuild}` };
  });
  await step('verify a pair', async () => { await window.v.verify(window.photos[0], window.photos[1]); });
  await step(`identify over ${values.templates} templates`, async (n) => {
    let state = 1;
    const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
    const unit = () => { const x = Float32Array.from({ length: 192 }, random); const s = Math.hypot(...x); return x.map((y) => y / s); };
    const g = window.v.createGallery();
    for (let i = 0; i < n; i++) await g.enroll(`p${i}`, [unit()]);
    for (let i = 0; i < 10; i++) await g.identify(unit(), { far: 0.05 });
    window.gallery = g;
    return { note: `${await g.templateCount()} templates` };
  }, Number(values.templates));
  await step('liveness (3 frames)', async () => { for (let i = 0; i < 3; i++) await window.v.liveness(window.photos[0]); });
  await step('challenge (12 frames)', async () => {
    const a = window.photos[0];
    const canvas = document.createElement('canvas');
    canvas.width = a.width;
    canvas.height = a.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(a, 0, 0);
    const timer = setInterval(() => ctx.drawImage(a, 0, 0), 33);
    const video = document.createElement('video');
    video.muted = true;
    video.srcObject = canvas.captureStream(30);
    document.body.append(video);
    await video.play();
    while (!video.videoWidth) await new Promise((r) => setTimeout(r, 20));
    let frames = 0;
    const controller = new AbortController();
    await window.v.challenge(video, { steps: ['blink'], stepMs: 60_000, intervalMs: 0, signal: controller.signal, onProgress: () => { if (++frames >= 12) controller.abort(); } })
      .catch((e) => { if (e.code !== 'ABORTED') throw e; });
    clearInterval(timer);
    video.srcObject.getTracks().forEach((t) => t.stop());
  });
  await step(`fine-tune, ${values.steps} steps of ${values.batch} images`, async ({ steps, batch }) => {
    const images = Array.from({ length: 64 }, (_, k) => new ImageData(new Uint8ClampedArray(112 * 112 * 4).map((_, i) => (i * (k + 3)) % 251), 112, 112));
    await window.v.fineTune({ images, labels: images.map((_, k) => k % 16), face: 'none', loss: 'supcon', trainable: 'adapter', steps, batchSize: batch, lr: 1e-4 });
    window.loadedModules.push('webverify');
  }, { steps: Number(values.steps), batch: Number(values.batch) });
  if (errors.length) throw new Error(errors.join('; '));
  await browser.close();
}

// Compiling each module: time at 1x and 4x, resident memory added.
const modules = [];
for (const kind of ['webverify_cpu', 'webverify_gpu', 'webverify']) {
  const { browser, page, cdp, browserCdp } = await launch();
  const build = await page.evaluate(async () => ((await import('./webverify/support.js')).hasRelaxedSimd() ? 'relaxed' : ''));
  // The gpu module has the plain build only; the full module is in the companion package.
  const built = kind === 'webverify_gpu' ? '' : build;
  const file = `./${kind === 'webverify' ? 'webverify-training' : 'webverify'}/wasm/${built ? `${built}/` : ''}${kind}_bg.wasm`;
  const row = { kind, build: built || 'simd' };
  await page.evaluate(async (file) => { window.bytes = await (await fetch(file)).arrayBuffer(); }, file);
  row.bytes = await page.evaluate(() => window.bytes.byteLength);
  const before = await renderer(browserCdp);
  for (const rate of [1, 4]) {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate });
    row[`ms${rate}`] = await page.evaluate(async () => {
      const ms = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        window.compiled = await WebAssembly.compile(window.bytes);
        ms.push(performance.now() - t);
      }
      return ms.sort((a, b) => a - b)[1];
    });
  }
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  // Tier-up (optimised code) runs in the background after compile: let it finish.
  await new Promise((r) => setTimeout(r, 5000));
  const after = await renderer(browserCdp);
  row.rssAdded = after.rss - before.rss;
  row.hwmAdded = after.hwm - before.hwm;
  modules.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
  await browser.close();
}
server.close();

const version = (await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true }).then(async (b) => { const v = b.version(); await b.close(); return v; }));
console.log(`Chromium ${version} headless, ${new Date().toISOString()}, inline CPU verifier; MB = MiB`);
console.log('| phase | wasm memory MB (peak so far) | JS heap used MB | renderer peak RSS MB | renderer RSS MB | note |');
console.log('|---|---|---|---|---|---|');
for (const p of phases) {
  const wasm = Object.entries(p.wasm).map(([k, v]) => `${mb(v)} (${k})`).join(' + ') || '0';
  console.log(`| ${p.phase} | ${wasm} | ${mb(p.js)} | ${mb(p.hwm)} | ${mb(p.rss)} | ${p.note ?? ''} |`);
}
console.log('\n| module | build | raw MB | compile ms at 1x | compile ms at 4x | renderer RSS added MB (compiled, tiered up) | peak RSS added MB |');
console.log('|---|---|---|---|---|---|---|');
for (const m of modules) console.log(`| ${m.kind} | ${m.build} | ${(m.bytes / 1e6).toFixed(2)} | ${m.ms1.toFixed(0)} | ${m.ms4.toFixed(0)} | ${mb(m.rssAdded)} | ${mb(m.hwmAdded)} |`);
