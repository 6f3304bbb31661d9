// The engine's files kept between visits (pkg/cache.js): the test server sends `cache-control:
// no-cache`, so without the Cache API every visit would download the module and the weights
// again. Counted from the browser's requests, inline and in a worker (whose requests the page
// sees too).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, start } from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const ENGINE_FILES = /\/webverify\/(wasm\/.*\.wasm|models\/.*\.safetensors)$/;

for (const worker of [false, true]) {
  test(`a second visit takes the module and weights from the Cache API (${worker ? 'worker' : 'inline'})`, async () => {
    const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
    // Each case starts from empty caches (the browser profile is shared by the cases).
    await page.evaluate(async () => { for (const name of await caches.keys()) await caches.delete(name); });
    const fetched = [];
    env.browser.on('request', (r) => { if (ENGINE_FILES.test(new URL(r.url()).pathname)) fetched.push(new URL(r.url()).pathname); });
    const visit = (opts) => page.evaluate(async (opts) => {
      const { Verifier } = await import('./webverify/index.js');
      const bytes = {};
      const v = await Verifier.create({ backend: 'cpu', ...opts, onProgress: ({ stage, loaded }) => { bytes[stage] = loaded; } });
      const e = await v.embed({ data: new Uint8Array(112 * 112 * 3).fill(90), width: 112, height: 112 }, { face: 'none' });
      const out = { module: v.wasmModule, model: v.model.id, length: e.length, bytes };
      v.dispose();
      return out;
    }, { worker, ...opts });

    // A new thread each time: a worker is new per verifier; inline, the page is reloaded.
    const first = await visit({});
    await new Promise((resolve) => setTimeout(resolve, 500)); // the cache writes settle
    const firstFetched = fetched.splice(0);
    if (!worker) await page.reload();
    const second = await visit({});
    const secondFetched = fetched.splice(0);
    if (!worker) await page.reload();
    const uncached = await visit({ cache: false });
    const uncachedFetched = fetched.splice(0);

    // Weights damaged in the cache: the SHA-256 check drops them and they are downloaded again.
    if (!worker) await page.reload();
    const damaged = await page.evaluate(async () => {
      const [name] = (await caches.keys()).filter((n) => n.startsWith('webverify-'));
      const cache = await caches.open(name);
      const key = (await cache.keys()).find((r) => r.url.endsWith('mobilefacenet-int8.safetensors'));
      const hit = await cache.match(key);
      const bytes = new Uint8Array(await hit.arrayBuffer());
      bytes[bytes.length - 1] ^= 1;
      await cache.put(key, new Response(bytes, { headers: hit.headers }));
      return name;
    });
    const repaired = await visit({});
    const repairedFetched = fetched.splice(0);

    console.log(`cache ${damaged}, ${worker ? 'worker' : 'inline'}: first visit fetched ${firstFetched.length} engine files, second ${secondFetched.length}, cache: false ${uncachedFetched.length}, after damaging the weights ${repairedFetched.join(', ')}`);
    assert.equal(first.module, 'cpu');
    assert.ok(firstFetched.includes('/webverify/models/mobilefacenet-int8.safetensors') && firstFetched.some((p) => p.endsWith('webverify_cpu_bg.wasm')), firstFetched.join());
    assert.deepEqual(secondFetched, [], 'nothing downloaded on the second visit');
    assert.ok(second.bytes.model > 1e6 && second.bytes.wasm > 1e6, `progress reports the cached bytes: ${JSON.stringify(second.bytes)}`);
    assert.equal(uncachedFetched.length, firstFetched.length, 'cache: false downloads again');
    assert.deepEqual(repairedFetched, ['/webverify/models/mobilefacenet-int8.safetensors'], 'only the damaged file is downloaded again');
    for (const r of [second, uncached, repaired]) assert.deepEqual([r.model, r.length], [first.model, first.length]);
    assert.deepEqual(errors, []);
    await page.close();
  });
}
