// Hostile and careless input through the public API, in worker and inline modes (and the file
// checks on WebGPU too): each case must give its typed code, never hang, and a genuine pair must
// still verify afterwards in the same verifier. The cases are those of the independent probe in
// issue 16: downloads that hang or drop, null options, detached buffers and functions, float
// pixels, NaN fine-tune options, forged calibrations, impossible tuned weights, forged
// galleries whose SHA-256 was recomputed, IndexedDBStore records and keys it cannot use, and
// sealed (HMAC) galleries opened with the wrong key or altered.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, SHARED, needsShared, openPage, start } from './harness.mjs';

let env;
let hostile;
before(async () => {
  env = await start();
  // /hang accepts and never answers; /drop promises 5 MB and hangs up after 1 kB.
  hostile = createServer((req, res) => {
    if (req.url === '/drop') {
      res.writeHead(200, { 'content-length': '5000000', 'access-control-allow-origin': '*' });
      res.write(Buffer.alloc(1000));
      setTimeout(() => req.socket.destroy(), 100);
    }
  });
  await new Promise((resolve) => hostile.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  hostile?.closeAllConnections();
  hostile?.close();
  await env?.close();
});

const png = (n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64');

/** Runs in the page: every case, then whether a genuine pair still verifies after each. */
async function probe({ backend, worker, faces, hostileUrl, filesOnly }) {
  const { Verifier, Gallery, IndexedDBStore } = await import('./webverify/index.js');
  const out = {};
  const settle = (p, ms = 60_000) => Promise.race([
    p.then(() => 'resolved', (e) => (e?.name === 'WebverifyError' ? e.code : `raw ${e?.name}: ${e?.message}`)),
    new Promise((resolve) => setTimeout(() => resolve('HANG'), ms)),
  ]);
  const bitmap = async (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }), { colorSpaceConversion: 'none' });
  const [a, b] = [await bitmap(faces.a), await bitmap(faces.b)];
  const weights = new Uint8Array(await (await fetch('./webverify-training/models/mobilefacenet.safetensors')).arrayBuffer());

  // Downloads (item 1, 5).
  if (!filesOnly) {
    const t0 = performance.now();
    out.hangTimeout = await settle(Verifier.create({ backend, worker, modelUrl: `${hostileUrl}/hang`, timeoutMs: 1500 }), 20_000);
    out.hangTimeoutMs = performance.now() - t0;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    out.hangAborted = await settle(Verifier.create({ backend, worker, modelUrl: `${hostileUrl}/hang`, signal: controller.signal }), 20_000);
    out.dropped = await settle(Verifier.create({ backend, worker, modelUrl: `${hostileUrl}/drop` }), 20_000);
    out.createNull = await settle(Verifier.create(null));
  }

  const v = await Verifier.create({ backend, worker });
  const cases = {};
  const genuine = async () => (await v.verify(a, b)).match;
  const check = async (name, promise) => {
    cases[name] = await settle(promise);
    cases[`${name} → still verifies`] = await genuine().catch((e) => `${e.code}: ${e.message}`);
  };
  const e = await v.embed(a);

  if (!filesOnly) {
    // Load: 64 calls in flight on one verifier, and a second verifier in the same page, all
    // giving the sequential answer; dispose() during a call settles it (DISPOSED or its result).
    const same = (x) => x instanceof Float32Array && x.length === e.length && x.every((y, i) => y === e[i]);
    const t0 = performance.now();
    const many = await Promise.all(Array.from({ length: 64 }, () => v.embed(a)));
    out.inFlight64 = many.every(same) ? 'all equal' : 'DIFFERENT';
    out.inFlight64Ms = performance.now() - t0;
    const v2 = await Verifier.create({ backend, worker });
    const mixed = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? v : v2).embed(a)));
    out.twoVerifiers = mixed.every(same) ? 'all equal' : 'DIFFERENT';
    const pending = v2.embed(a);
    v2.dispose();
    out.disposeDuringCall = await settle(pending, 30_000);
  }

  if (!filesOnly) {
    // Options (item 4).
    await check('embed(a, null)', v.embed(a, null));
    await check('verify(a, b, null)', v.verify(a, b, null));
    await check('embedRaw(null)', v.embedRaw(null));
    await check('similarity(null, e)', Verifier.similarity(null, e));
    const cyclic = {};
    cyclic.self = cyclic;
    await check('enroll with cyclic metadata', v.createGallery().enroll('x', [e], { metadata: cyclic }));
    // Detached buffers and functions (items 2, 3).
    const detachedImage = new ImageData(64, 64);
    structuredClone(detachedImage.data.buffer, { transfer: [detachedImage.data.buffer] });
    await check('embed(ImageData with a detached buffer)', v.embed(detachedImage));
    const detached = new Float32Array(e);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    await check('similarity(detached, e)', Verifier.similarity(detached, e));
    const g = v.createGallery();
    await g.enroll('me', [e]);
    await check('identify(detached embedding)', g.identify(detached));
    await check('embed(a function)', v.embed(() => 1));
    if (worker) await check('embed(pixels carrying a function)', v.embed({ data: new Uint8Array(16), width: 2, height: 2, onload() {} }));
    // Pixels that are not bytes (item 10).
    await check('embed(Float32Array pixels)', v.embed({ data: new Float32Array(112 * 112 * 3).fill(0.5), width: 112, height: 112 }, { face: 'none' }));
    await check('embed(plain array of 300s)', v.embed({ data: new Array(112 * 112 * 3).fill(300), width: 112, height: 112 }, { face: 'none' }));
    // Non-finite fine-tune options (item 9).
    const px = { data: new Uint8Array(112 * 112 * 3).fill(90), width: 112, height: 112 };
    await check('fineTune({ steps: NaN })', v.fineTune({ images: [px, px], labels: [0, 1], face: 'none', steps: NaN }));
    await check('fineTune({ lr: Infinity })', v.fineTune({ images: [px, px], labels: [0, 1], face: 'none', lr: Infinity }));
    // IndexedDBStore (item 6).
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    await check('IndexedDBStore with an HMAC key', (async () => new IndexedDBStore({ key: hmac }))());
    const database = `webverify-hardening-${backend}-${worker}`;
    await new Promise((resolve, reject) => {
      const open = indexedDB.open(database, 1);
      open.onupgradeneeded = () => open.result.createObjectStore('records');
      open.onsuccess = () => {
        const tx = open.result.transaction('records', 'readwrite');
        tx.objectStore('records').put({ format: 1, ciphertext: new Uint8Array(40) }, 'gallery');
        tx.oncomplete = () => { open.result.close(); resolve(); };
        tx.onerror = () => reject(tx.error);
      };
      open.onerror = () => reject(open.error);
    });
    await check('IndexedDBStore record without kdf and iv', new IndexedDBStore({ database, key: 'x' }).read());
    // Sealed galleries (issue 14): only the key's holder can make bytes that load.
    const key = crypto.getRandomValues(new Uint8Array(32));
    const sealed = await g.toBytes({ key });
    cases['sealed gallery opened with its key'] = await settle(Gallery.fromBytes(v, sealed, { key }).then(async (x) => {
      if ((await x.list())[0]?.id !== 'me') throw new Error('wrong contents');
    }));
    await check('sealed gallery, another key', Gallery.fromBytes(v, sealed, { key: crypto.getRandomValues(new Uint8Array(32)) }));
    const altered = sealed.slice();
    altered[60] ^= 1;
    await check('sealed gallery, one bit changed', Gallery.fromBytes(v, altered, { key }));
    await check('sealed gallery opened as plain bytes', Gallery.fromBytes(v, sealed));
    await check('plain gallery opened as sealed', Gallery.fromBytes(v, await g.toBytes(), { key }));
    await check('sealing key of 8 bytes', g.toBytes({ key: new Uint8Array(8) }));
  }

  // Files checked for meaning (items 7, 8, 11).
  const safetensors = (tensors, metadata) => {
    const header = { __metadata__: metadata };
    let offset = 0;
    for (const [name, shape, data] of tensors) {
      header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
      offset += data.byteLength;
    }
    let json = JSON.stringify(header);
    while (json.length % 8) json += ' ';
    const out = new Uint8Array(8 + json.length + offset);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(new TextEncoder().encode(json), 8);
    let at = 8 + json.length;
    for (const [, , data] of tensors) { out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at); at += data.byteLength; }
    return out;
  };
  const withCalibration = (calibration) => {
    const n = Number(new DataView(weights.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(weights.subarray(8, 8 + n)));
    header.__metadata__.calibration = calibration;
    let json = JSON.stringify(header);
    while (json.length % 8) json += ' ';
    const out = new Uint8Array(8 + json.length + weights.length - 8 - n);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(new TextEncoder().encode(json), 8);
    out.set(weights.subarray(8 + n), 8 + json.length);
    return out;
  };
  const forged = JSON.stringify({ source: 'forged', negatives: 1000000, curve: [[1, -1], [0.001, -1], [0.000001, -1]] });
  cases['weights whose calibration thresholds are all -1'] = await settle(Verifier.create({ backend, worker, modelUrl: withCalibration(forged) }));
  const D = 192;
  const tuned = (scale, changes = {}) => {
    const w = new Float32Array(D * D);
    for (let i = 0; i < D; i++) w[i * D + i] = scale;
    const meta = {
      format: 'webverify-weights', format_version: '1', model: 'mobilefacenet-tuned', source: 'crafted', source_sha256: v.model.sha256,
      embedding_dim: '192', input_size: '112', base_model: v.model.name, base_sha256: v.model.sha256, scope: 'adapter', ...changes,
    };
    for (const [k, val] of Object.entries(meta)) if (val === undefined) delete meta[k];
    return safetensors([['adapter.weight', [D, D], w]], meta);
  };
  cases['tuned: identity adapter (valid)'] = await settle(v.importTuned(tuned(0)));
  await v.resetModel();
  await check('tuned: negated identity adapter', v.importTuned(tuned(-1)));
  await check('tuned: adapter scaled to 1e30', v.importTuned(tuned(1e30)));
  for (const dim of ['0', '5', '96', '384', undefined]) await check(`tuned: embedding_dim ${dim}`, v.importTuned(tuned(0, { embedding_dim: dim })));
  await check('tuned: calibration thresholds all -1', v.importTuned(tuned(0, { calibration: forged })));

  // Galleries in webverify's template format with a correct (recomputed) SHA-256 trailer.
  const gallery = async (identities, model = v.model) => {
    const enc = new TextEncoder();
    const parts = [enc.encode('WVTM'), Uint8Array.of(1, 0, 2, model.name.length), enc.encode(model.name), enc.encode(model.sha256), Uint8Array.of(D & 255, D >> 8)];
    const u32 = (n) => { const x = new Uint8Array(4); new DataView(x.buffer).setUint32(0, n, true); return x; };
    parts.push(u32(identities.length));
    for (const { id, meta = '', templates } of identities) {
      const idb = enc.encode(id);
      parts.push(Uint8Array.of(idb.length & 255, idb.length >> 8), idb, u32(enc.encode(meta).length), enc.encode(meta), u32(templates.length));
      for (const t of templates) parts.push(new Uint8Array(Float32Array.from(t).buffer));
    }
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { body.set(p, at); at += p.length; }
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
    const out = new Uint8Array(body.length + 32);
    out.set(body);
    out.set(digest, body.length);
    return out;
  };
  // A search on the GPU reads its scores back asynchronously: an enrollment in between is a
  // retryable CONFLICT, not a wrong answer (on the CPU the search is synchronous).
  if (backend === 'webgpu' && !worker) {
    const g2 = v.createGallery();
    await g2.enroll('p', [e]);
    const eb = await v.embed(b);
    const search = g2.identify(e);
    // Let the search start (wasm futures are polled in microtasks) and reach its GPU read,
    // which completes only in a later task; then enroll.
    for (let i = 0; i < 20; i++) await null;
    const enrolling = g2.enroll('q', [eb]);
    await check('identify while the gallery is enrolled into', search);
    await enrolling;
  }
  const unit = Array.from(e);
  cases['gallery: well-formed (valid)'] = await settle(Gallery.fromBytes(v, await gallery([{ id: 'me', meta: '{"a":1}', templates: [unit] }])));
  await check('gallery: template of length 2', Gallery.fromBytes(v, await gallery([{ id: 'me', templates: [unit.map((x) => 2 * x)] }])));
  await check('gallery: template scaled to 1e38', Gallery.fromBytes(v, await gallery([{ id: 'me', templates: [unit.map((x, i) => (i === 0 ? 1e38 : x))] }])));
  await check('gallery: duplicate ids', Gallery.fromBytes(v, await gallery([{ id: 'me', templates: [unit] }, { id: 'me', templates: [unit] }])));
  await check('gallery: identity without templates', Gallery.fromBytes(v, await gallery([{ id: 'me', templates: [] }])));
  await check('gallery: metadata not JSON', Gallery.fromBytes(v, await gallery([{ id: 'me', meta: '{oops', templates: [unit] }])));
  // After dispose: DISPOSED, for the verifier and its galleries.
  const last = v.createGallery();
  v.dispose();
  cases['embed after dispose'] = await settle(v.embed(a));
  if (!worker) {
    last.dispose();
    cases['gallery call after dispose'] = await settle(last.size());
  }
  return { out, cases };
}

/** Row names of the matrix for the results outside `cases`. */
const OUT_LABELS = {
  hangTimeout: 'create: a server that never answers, timeoutMs 1500',
  hangAborted: 'create: a server that never answers, signal aborted',
  dropped: 'create: connection dropped after 1 kB of 5 MB',
  createNull: 'create(null)',
  inFlight64: '64 embed calls in flight',
  twoVerifiers: 'two verifiers in one page, calls interleaved',
  disposeDuringCall: 'dispose() during a call',
};

const EXPECTED = {
  'embed(a, null)': 'INVALID_INPUT',
  'verify(a, b, null)': 'INVALID_INPUT',
  'embedRaw(null)': 'INVALID_INPUT',
  'similarity(null, e)': 'INVALID_INPUT',
  'enroll with cyclic metadata': 'INVALID_INPUT',
  'embed(ImageData with a detached buffer)': 'INVALID_INPUT',
  'similarity(detached, e)': 'INVALID_INPUT',
  'identify(detached embedding)': 'INVALID_INPUT',
  'embed(a function)': 'INVALID_INPUT',
  'embed(pixels carrying a function)': 'INVALID_INPUT',
  'embed(Float32Array pixels)': 'INVALID_INPUT',
  'embed(plain array of 300s)': 'INVALID_INPUT',
  'fineTune({ steps: NaN })': 'INVALID_INPUT',
  'fineTune({ lr: Infinity })': 'INVALID_INPUT',
  'IndexedDBStore with an HMAC key': 'INVALID_INPUT',
  'IndexedDBStore record without kdf and iv': 'CORRUPT_DATA',
  'sealed gallery opened with its key': 'resolved',
  'sealed gallery, another key': 'WRONG_KEY',
  'sealed gallery, one bit changed': 'WRONG_KEY',
  'sealed gallery opened as plain bytes': 'CORRUPT_DATA',
  'plain gallery opened as sealed': 'CORRUPT_DATA',
  'sealing key of 8 bytes': 'INVALID_INPUT',
  'weights whose calibration thresholds are all -1': 'MODEL_LOAD',
  'tuned: identity adapter (valid)': 'resolved',
  'tuned: negated identity adapter': 'MODEL_LOAD',
  'tuned: adapter scaled to 1e30': 'MODEL_LOAD',
  'tuned: embedding_dim 0': 'MODEL_LOAD',
  'tuned: embedding_dim 5': 'MODEL_LOAD',
  'tuned: embedding_dim 96': 'MODEL_LOAD',
  'tuned: embedding_dim 384': 'MODEL_LOAD',
  'tuned: embedding_dim undefined': 'MODEL_LOAD',
  'tuned: calibration thresholds all -1': 'MODEL_LOAD',
  'gallery: well-formed (valid)': 'resolved',
  'gallery: template of length 2': 'CORRUPT_DATA',
  'gallery: template scaled to 1e38': 'CORRUPT_DATA',
  'gallery: duplicate ids': 'CORRUPT_DATA',
  'gallery: identity without templates': 'CORRUPT_DATA',
  'gallery: metadata not JSON': 'CORRUPT_DATA',
  'identify while the gallery is enrolled into': 'CONFLICT',
  'embed after dispose': 'DISPOSED',
  'gallery call after dispose': 'DISPOSED',
};

for (const [backend, worker, filesOnly] of [['cpu', true, false], ['cpu', false, false], ['webgpu', false, true]]) {
  describe(`bad input on ${backend}, ${worker ? 'in a worker' : 'inline'}${filesOnly ? ' (files)' : ''}`, { skip: needsShared() }, () => {
    test('typed errors, no hangs, and a genuine pair still verifies after each', async () => {
      const { page } = await openPage(env.browser, `${env.url}blank.html`);
      const faces = { a: png('face_00_faceid.png'), b: png('face_01_facematch_selected.png') };
      const hostileUrl = `http://127.0.0.1:${hostile.address().port}`;
      const { out, cases } = await page.evaluate(probe, { backend, worker, faces, hostileUrl, filesOnly });
      // The matrix for docs/RELIABILITY.md: case → code → still verifies.
      const rows = Object.entries(cases).filter(([name]) => !name.endsWith('still verifies'))
        .map(([name, code]) => `| ${name} | ${code} | ${cases[`${name} → still verifies`] ?? '—'} |`);
      const downloads = filesOnly ? [] : Object.entries(out).filter(([k]) => k in OUT_LABELS).map(([k, code]) => `| ${OUT_LABELS[k]} | ${code} | — |`);
      writeFileSync(join(ARTIFACTS, `hardening-matrix-${backend}-${worker ? 'worker' : 'inline'}.md`), `### ${backend}, ${worker ? 'worker' : 'inline'}\n\n| case | code | genuine pair verifies after |\n|---|---|---|\n${[...downloads, ...rows].join('\n')}\n`);
      if (!filesOnly) {
        assert.equal(out.hangTimeout, 'MODEL_LOAD', 'a server that never answers: the timeout');
        assert.ok(out.hangTimeoutMs < 15_000, `timed out after ${out.hangTimeoutMs} ms`);
        assert.equal(out.hangAborted, 'ABORTED', 'a server that never answers: the signal');
        assert.equal(out.dropped, 'MODEL_LOAD', 'a connection dropped half way');
        assert.equal(out.createNull, 'INVALID_INPUT');
        assert.equal(out.inFlight64, 'all equal', '64 calls in flight');
        assert.equal(out.twoVerifiers, 'all equal', 'two verifiers in one page');
        // The call made just before dispose() had not reached the engine: DISPOSED in both modes
        // (before issue 25 an inline call had already started and finished).
        assert.equal(out.disposeDuringCall, 'DISPOSED', 'dispose() during a call');
      }
      let checked = 0;
      for (const [name, code] of Object.entries(cases)) {
        if (name.endsWith('still verifies')) {
          assert.equal(code, true, name);
          continue;
        }
        assert.ok(name in EXPECTED, `no expectation for ${name}`);
        assert.equal(code, EXPECTED[name], name);
        checked++;
      }
      assert.ok(checked >= (filesOnly ? 15 : 30), `${checked} cases checked`);
      await page.close();
    });
  });
}
