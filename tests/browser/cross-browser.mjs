// One suite for every browser that is not Chromium (WebKit: webkit.test.mjs; Firefox:
// firefox.test.mjs), in worker and inline mode: create, verify a same and a different pair of
// photos, identify in a gallery, the encrypted store round trip, passive liveness on a still, a
// tuned model's import, and a bad URL. `suite` runs in the page; `checkSuite` asserts its result.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED, halfAdapterTuned } from './harness.mjs';

const png = (n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64');

/** Runs in the page: the whole suite in one verifier, `worker` choosing the mode. */
export async function suite({ worker, faces }) {
  const { Verifier, Gallery, IndexedDBStore } = await import('./webverify/index.js');
  const code = (p) => p.then(() => 'resolved', (e) => `${e.name}:${e.code}`);
  const bitmap = (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
  const [vlad0, vlad1, vlad3, woman] = await Promise.all([faces.vlad0, faces.vlad1, faces.vlad3, faces.woman].map(bitmap));
  const out = { ua: navigator.userAgent };
  const v = await Verifier.create({ backend: 'cpu', worker });
  Object.assign(out, { isVerifier: v instanceof Verifier, mode: v.mode, backend: v.backend, build: v.wasmBuild, module: v.wasmModule });
  const same = await v.verify(vlad0, vlad1);
  const different = await v.verify(vlad0, woman);
  Object.assign(out, { same: [same.match, same.similarity], different: [different.match, different.similarity], faces: same.faces });
  // A gallery, kept encrypted in IndexedDB and read back.
  const g = v.createGallery();
  await g.enroll('vlad', [vlad0, vlad1]);
  await g.enroll('woman', [woman]);
  out.identified = (await g.identify(vlad3)).match;
  const store = new IndexedDBStore({ database: `webverify-suite-${worker}`, key: 'correct horse battery staple' });
  await g.save(store);
  out.reloaded = (await (await Gallery.load(v, store)).identify(vlad3)).match;
  out.wrongKey = await code(Gallery.load(v, new IndexedDBStore({ database: `webverify-suite-${worker}`, key: 'wrong' })));
  await store.clear();
  // Passive liveness on one still frame (downloads the liveness model).
  const live = await v.liveness(vlad0);
  out.liveness = [typeof live.live, live.score >= 0 && live.score <= 1, live.framesWithFace];
  // A tuned model: an adapter e + 0.5·e (another model id, the same direction).
  const tuned = Uint8Array.from(atob(faces.tuned), (c) => c.charCodeAt(0));
  const shippedId = v.model.id;
  out.tuned = [(await v.importTuned(tuned)).id !== shippedId, v.model.tuned?.scope, (await v.verify(vlad0, vlad1)).match];
  // A bad URL is a typed error, and the verifier keeps working.
  out.badUrl = await code(Verifier.create({ backend: 'cpu', worker, modelUrl: './nothing-here.safetensors' }));
  out.afterError = (await v.verify(vlad0, vlad1)).match;
  v.dispose();
  return out;
}

/** What `suite` takes: photos (three of one person, one of another) and a tuned-weights file. */
export const faces = () => ({ vlad0: png('face_00_faceid.png'), vlad1: png('face_01_facematch_selected.png'), vlad3: png('face_03_samples_man.png'), woman: png('face_02_samples_woman.png'), tuned: halfAdapterTuned() });

/** The suite's result as every browser must give it; `ua` the engine's user-agent token and
 * `build` the wasm build it must get (`simd` without relaxed SIMD). */
export function checkSuite(r, { ua, build, worker }) {
  assert.match(r.ua, ua);
  assert.equal(r.isVerifier, true);
  // The module-worker probe (support.js) must see this browser's module workers.
  assert.equal(r.mode, worker ? 'worker' : 'inline');
  assert.match(r.backend, /^flex/);
  assert.equal(r.build, build);
  assert.equal(r.module, 'cpu');
  assert.equal(r.same[0], true, `same person: ${r.same}`);
  assert.equal(r.different[0], false, `different people: ${r.different}`);
  assert.deepEqual(r.faces, [1, 1]);
  assert.equal(r.identified, 'vlad');
  assert.equal(r.reloaded, 'vlad');
  assert.equal(r.wrongKey, 'WebverifyError:WRONG_KEY');
  assert.deepEqual(r.liveness, ['boolean', true, 1]);
  assert.deepEqual(r.tuned, [true, 'adapter', true]);
  assert.equal(r.badUrl, 'WebverifyError:MODEL_LOAD');
  assert.equal(r.afterError, true);
}
