// What the package does in a browser that lacks a feature it uses (README.md, "Browser
// support"): each case is a page whose init script removes the feature before the package
// loads, as an older or locked-down browser would lack it. Without module workers, OffscreenCanvas
// or createImageBitmap a verifier runs inline and still verifies; without WebAssembly or its SIMD,
// `create` fails with BACKEND_UNAVAILABLE naming what is missing; without the Cache API,
// WebCrypto, VideoFrame or WebGPU the CPU path still verifies, and only what needs the feature
// (the encrypted store, the `webgpu` backend) fails, with BACKEND_UNAVAILABLE. No case may
// leave an uncaught error on the page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED, needsShared, start } from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const png = (n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64');

/** Init scripts, by case: each removes one feature the way a browser without it lacks it. */
const REMOVE = {
  // A browser before module workers reads only `name` of the options and starts a classic
  // worker, which fails on the first `import`; every Worker it starts is counted.
  moduleWorkers: () => {
    const Native = Worker;
    window.workersStarted = 0;
    window.Worker = class extends Native {
      constructor(url, options) {
        super(url, { name: options?.name });
        window.workersStarted += 1;
      }
    };
  },
  OffscreenCanvas: () => { delete window.OffscreenCanvas; },
  createImageBitmap: () => { delete window.createImageBitmap; },
  simd: () => {
    // An engine without SIMD128 validates no module that uses it.
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => !new Uint8Array(bytes).includes(253) && validate(bytes);
  },
  // Chrome 91-95: SIMD, but not the reference types the modules are built with.
  referenceTypes: () => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => !new Uint8Array(bytes).includes(208) && validate(bytes);
  },
  WebAssembly: () => { delete window.WebAssembly; },
  // An insecure context (http:// other than localhost) has no crypto.subtle.
  WebCrypto: () => { delete Crypto.prototype.subtle; },
  caches: () => { delete window.caches; },
  indexedDB: () => { delete window.indexedDB; },
  VideoFrame: () => { delete window.VideoFrame; },
  WebGPU: () => { delete Navigator.prototype.gpu; },
};

/** A page with `feature` removed, what `run(faces)` returned in it, and its uncaught errors. */
async function withoutFeature(feature, run) {
  const page = await env.browser.newPage();
  const uncaught = [];
  page.on('pageerror', (e) => uncaught.push(String(e)));
  page.setDefaultTimeout(300_000);
  try {
    await page.addInitScript(REMOVE[feature]);
    await page.goto(`${env.url}blank.html`);
    const faces = { a: png('face_00_faceid.png'), b: png('face_01_facematch_selected.png') };
    const result = await page.evaluate(run, faces);
    return { result, uncaught };
  } finally {
    await page.close();
  }
}

/** In the page: the package, typed error codes, and the pair as <img> elements (they need
 * neither createImageBitmap nor OffscreenCanvas). */
const PRELUDE = `
  const { Verifier, IndexedDBStore } = await import('./webverify/index.js');
  const code = (p) => p.then(() => 'resolved', (e) => e.name + ':' + e.code + ':' + e.message);
  const img = async (b64) => { const i = new Image(); i.src = 'data:image/png;base64,' + b64; await i.decode(); return i; };
  const [a, b] = [await img(faces.a), await img(faces.b)];
`;
const inPage = (body) => new Function('faces', `return (async () => { ${PRELUDE} ${body} })();`);

describe('a browser without a feature the package uses', { skip: needsShared() }, () => {
  for (const feature of ['moduleWorkers', 'OffscreenCanvas', 'createImageBitmap']) {
    test(`without ${feature}: the verifier runs inline and verifies; worker: true names what is missing`, async () => {
      const { result, uncaught } = await withoutFeature(feature, inPage(`
        const v = await Verifier.create({ backend: 'cpu' });
        const r = { mode: v.mode, match: (await v.verify(a, b)).match, workers: window.workersStarted };
        v.dispose();
        r.explicit = await code(Verifier.create({ backend: 'cpu', worker: true }));
        return r;
      `));
      assert.equal(result.mode, 'inline');
      assert.equal(result.match, true);
      if (feature === 'moduleWorkers') assert.equal(result.workers, 0, 'no classic worker was started');
      const named = { moduleWorkers: /module workers are missing/, OffscreenCanvas: /OffscreenCanvas/, createImageBitmap: /createImageBitmap is missing/ }[feature];
      assert.match(result.explicit, /^WebverifyError:BACKEND_UNAVAILABLE:worker mode cannot run/);
      assert.match(result.explicit, named);
      assert.deepEqual(uncaught, []);
    });
  }

  for (const [feature, named] of [['simd', /WebAssembly SIMD128 is missing \(Chrome 91, Edge 91, Firefox 89, Safari 16\.4 or later\)/], ['referenceTypes', /WebAssembly reference types are missing/], ['WebAssembly', /WebAssembly is missing/]]) {
    test(`without ${feature}: create fails with BACKEND_UNAVAILABLE naming it, in both modes, before any download`, async () => {
      const { result, uncaught } = await withoutFeature(feature, inPage(`
        const before = performance.getEntriesByType('resource').length;
        const r = { worker: await code(Verifier.create()), inline: await code(Verifier.create({ worker: false })) };
        r.downloads = performance.getEntriesByType('resource').slice(before).map((e) => e.name).filter((n) => /\\.(wasm|safetensors)$/.test(n));
        return r;
      `));
      for (const mode of ['worker', 'inline']) {
        assert.match(result[mode], /^WebverifyError:BACKEND_UNAVAILABLE:webverify cannot run in this browser/);
        assert.match(result[mode], named);
      }
      assert.deepEqual(result.downloads, []);
      assert.deepEqual(uncaught, []);
    });
  }

  test('without WebCrypto (an insecure context): verification works, the encrypted store names WebCrypto', async () => {
    const { result, uncaught } = await withoutFeature('WebCrypto', inPage(`
      // Inline, so that the engine's files are hashed without WebCrypto (in the engine).
      const v = await Verifier.create({ backend: 'cpu', worker: false });
      const r = { match: (await v.verify(a, b)).match };
      const g = v.createGallery();
      await g.enroll('a', [a]);
      r.store = await code(g.save(new IndexedDBStore({ database: 'no-crypto', key: 'a passphrase' })));
      v.dispose();
      return r;
    `));
    assert.equal(result.match, true);
    assert.match(result.store, /^WebverifyError:BACKEND_UNAVAILABLE:IndexedDBStore needs WebCrypto/);
    assert.deepEqual(uncaught, []);
  });

  test('without IndexedDB: verification works, the store names IndexedDB', async () => {
    const { result, uncaught } = await withoutFeature('indexedDB', inPage(`
      const v = await Verifier.create({ backend: 'cpu' });
      const r = { match: (await v.verify(a, b)).match };
      const g = v.createGallery();
      await g.enroll('a', [a]);
      r.store = await code(g.save(new IndexedDBStore({ key: 'a passphrase' })));
      v.dispose();
      return r;
    `));
    assert.equal(result.match, true);
    assert.match(result.store, /^WebverifyError:BACKEND_UNAVAILABLE:IndexedDBStore needs IndexedDB/);
    assert.deepEqual(uncaught, []);
  });

  test('without the Cache API: the engine loads from the network every time and verifies', async () => {
    const { result, uncaught } = await withoutFeature('caches', inPage(`
      const r = { caches: typeof caches };
      for (let i = 0; i < 2; i++) {
        const v = await Verifier.create({ backend: 'cpu', worker: false });
        r['match' + i] = (await v.verify(a, b)).match;
        v.dispose();
      }
      return r;
    `));
    assert.deepEqual(result, { caches: 'undefined', match0: true, match1: true });
    assert.deepEqual(uncaught, []);
  });

  test('without VideoFrame: images still verify, in the default worker mode', async () => {
    const { result, uncaught } = await withoutFeature('VideoFrame', inPage(`
      const v = await Verifier.create({ backend: 'cpu' });
      const r = { mode: v.mode, match: (await v.verify(a, b)).match };
      v.dispose();
      return r;
    `));
    assert.deepEqual(result, { mode: 'worker', match: true });
    assert.deepEqual(uncaught, []);
  });

  test("without WebGPU: 'auto' runs on the CPU and says why; 'webgpu' fails naming it", async () => {
    const { result, uncaught } = await withoutFeature('WebGPU', inPage(`
      const v = await Verifier.create({ backend: 'auto', worker: false });
      const r = { backend: v.backend, match: (await v.verify(a, b)).match };
      v.dispose();
      r.webgpu = await code(Verifier.create({ backend: 'webgpu', worker: false }));
      return r;
    `));
    assert.match(result.backend, /^flex.*navigator\.gpu is missing/);
    assert.equal(result.match, true);
    assert.match(result.webgpu, /^WebverifyError:BACKEND_UNAVAILABLE:WebGPU is not available: navigator\.gpu is missing/);
    assert.deepEqual(uncaught, []);
  });
});
