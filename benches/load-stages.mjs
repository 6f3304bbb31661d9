// Where a visit's time goes, for ours alone: one profile, a cold visit then two warm ones, each
// timing the import, the end of each download (onProgress), the engine start, and two verify()
// calls of the same two photos (the first pays one-time costs). Served as benches/load.mjs serves.
// Usage: node benches/load-stages.mjs (after `make site`). Prints milliseconds from the import.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM_ARGS, SHARED, SITE } from '../tests/browser/harness.mjs';
import { serve } from '../tools/serve.mjs';
import { scratchDir } from '../tools/scratch.mjs';
const server = await serve(SITE, 0, '127.0.0.1', { compress: true, cacheControl: 'public, max-age=3600' });
const ctx = await chromium.launchPersistentContext(scratchDir('webverify-load-stages-'), { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--headless'], headless: true });
const photos = ['face_00_faceid.png', 'face_01_facematch_selected.png'].map((n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64'));
for (const visit of ['cold', 'warm', 'warm2']) {
  const page = await ctx.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/blank.html`);
  const r = await page.evaluate(async (pngs) => {
    const bitmaps = await Promise.all(pngs.map((b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }))));
    const marks = [];
    const t0 = performance.now();
    const { Verifier } = await import('./webverify/index.js');
    marks.push(['imported', performance.now() - t0]);
    const seen = new Set();
    const v = await Verifier.create({ backend: 'cpu', worker: false, onProgress: (p) => { const k = `${p.stage} ${p.loaded === p.total ? 'done' : 'start'}`; if (!seen.has(k) && (p.loaded === p.total || p.stage === 'backend')) { seen.add(k); marks.push([k, performance.now() - t0]); } } });
    marks.push(['created', performance.now() - t0]);
    await v.verify(bitmaps[0], bitmaps[1]);
    marks.push(['verified', performance.now() - t0]);
    await v.verify(bitmaps[0], bitmaps[1]);
    marks.push(['verified again', performance.now() - t0]);
    return marks.map(([k, t]) => `${k} ${t.toFixed(0)}`).join(', ');
  }, photos);
  console.log(visit, r);
  await page.close();
}
await ctx.close(); server.close();
