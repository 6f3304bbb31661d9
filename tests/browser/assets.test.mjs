// `assetsUrl`: one option for where the package's files are. The page imports the package from
// its own origin; a copy of the package's files is served on a second origin (with CORS, as a
// CDN would). In worker and inline mode the worker script, the engine module and every weights
// file must come from the second origin and none from the first; a CPU verifier must still
// download only the small `cpu` module; a later liveness call fetches its model from there too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../tools/serve.mjs';
import { SHARED, SITE, needsShared, openPage, start } from './harness.mjs';

let env;
let assets;
const requests = { page: [], assets: [] };
before(async () => {
  env = await start();
  assets = await serve(join(SITE, 'webverify'), 0, '127.0.0.1', { headers: { 'access-control-allow-origin': '*' } });
  env.server.on('request', (req) => requests.page.push(req.url));
  assets.on('request', (req) => requests.assets.push(req.url));
});
after(async () => { assets?.close(); await env?.close(); });

const png = (n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64');

for (const worker of [true, false]) {
  test(`assetsUrl takes every file from the other origin, ${worker ? 'in a worker' : 'inline'}`, { skip: needsShared() }, async () => {
    requests.page.length = 0;
    requests.assets.length = 0;
    const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
    const r = await page.evaluate(async ({ worker, assetsUrl, faces }) => {
      const { Verifier } = await import('./webverify/index.js');
      const bitmap = (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
      const [a, b] = await Promise.all([faces.a, faces.b].map(bitmap));
      // No trailing slash: the folder is meant.
      const v = await Verifier.create({ backend: 'cpu', worker, assetsUrl, cache: false });
      const out = { mode: v.mode, module: v.wasmModule, match: (await v.verify(a, b)).match };
      out.live = typeof (await v.liveness(a)).live;
      v.dispose();
      return out;
    }, { worker, assetsUrl: `http://127.0.0.1:${assets.address().port}`, faces: { a: png('face_00_faceid.png'), b: png('face_01_facematch_selected.png') } });
    assert.deepEqual(r, { mode: worker ? 'worker' : 'inline', module: 'cpu', match: true, live: 'boolean' });
    const files = (list) => list.filter((u) => /\.(wasm|safetensors)$|worker\.js$/.test(u)).map((u) => u.replace(/^\/(webverify\/)?/, '')).sort();
    assert.deepEqual(files(requests.page), [], 'nothing from the page\'s own copy');
    const fromAssets = files(requests.assets);
    for (const f of ['models/blazeface-short.safetensors', 'models/minifasnet-v1se-f16.safetensors', 'models/mobilefacenet-int8.safetensors']) assert.ok(fromAssets.includes(f), `${f} from assetsUrl: ${fromAssets}`);
    assert.ok(fromAssets.some((f) => /^wasm\/(relaxed\/)?webverify_cpu_bg\.wasm$/.test(f)), `the cpu module from assetsUrl: ${fromAssets}`);
    assert.ok(!fromAssets.some((f) => /webverify(_gpu)?_bg\.wasm$/.test(f)), `no big module: ${fromAssets}`);
    assert.equal(fromAssets.includes('worker.js'), worker);
    assert.deepEqual(errors, []);
    await page.close();
  });
}
