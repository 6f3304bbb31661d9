// Enrollment and identification in headless Chromium on both backends: the quality gate, open-set
// answers, encrypted IndexedDB persistence across a reload, and refusal of wrong keys, damaged
// bytes and another model's gallery.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED, needsShared, openPage, start } from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const png = (n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64');

/** An ORL face (grey PGM) as { data, width, height }: a person never enrolled. */
function orl(path) {
  const bytes = readFileSync(join(SHARED, 'data/orl', path));
  const header = bytes.subarray(0, 20).toString('latin1').split(/\s+/);
  const [width, height] = [Number(header[1]), Number(header[2])];
  return { data: Array.from(bytes.subarray(bytes.length - width * height)), width, height };
}

for (const [backend, worker] of [['cpu', true], ['webgpu', true], ['cpu', false], ['webgpu', false]]) {
  describe(`gallery on ${backend}, ${worker ? 'in a worker' : 'inline'}`, { skip: needsShared() }, () => {
    test('enroll, identify, persist encrypted, refuse what does not fit', async () => {
      const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
      const faces = { vlad0: png('face_00_faceid.png'), vlad1: png('face_01_facematch_selected.png'), vlad3: png('face_03_samples_man.png'), woman: png('face_02_samples_woman.png') };
      const database = `webverify-test-${backend}-${worker}`;
      const first = await page.evaluate(async ({ backend, worker, faces, stranger, database }) => {
        const { Verifier, IndexedDBStore, Gallery } = await import('./webverify/index.js');
        const code = (p) => p.then(() => 'resolved', (e) => `${e.name}:${e.code}`);
        const bitmap = async (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }), { colorSpaceConversion: 'none' });
        const v = await Verifier.create({ backend, worker });
        const g = v.createGallery();
        const out = {};
        out.vlad = await g.enroll('vlad', [await bitmap(faces.vlad0), await bitmap(faces.vlad1)], { metadata: { note: 'demo author' } });
        out.woman = await g.enroll('woman', [await bitmap(faces.woman)]);
        out.wrongPerson = await g.enroll('vlad', [await bitmap(faces.woman)]);
        const noise = new ImageData(new Uint8ClampedArray(128 * 128 * 4).map((_, i) => (i * 7) % 251), 128, 128);
        out.noFace = await g.enroll('noise', [noise]);
        out.hit = await g.identify(await bitmap(faces.vlad3));
        out.stranger = await g.identify({ data: Uint8Array.from(stranger.data), width: stranger.width, height: stranger.height });
        out.list = await g.list();
        out.size = await g.size();
        await g.save(new IndexedDBStore({ database, key: 'correct horse battery staple' }));
        // Damaged bytes and another model's weights are refused; the gallery keeps working.
        const bytes = await g.toBytes();
        const flipped = bytes.slice(); flipped[40] ^= 1;
        out.flipped = await code(Gallery.fromBytes(v, flipped));
        out.truncated = await code(Gallery.fromBytes(v, bytes.slice(0, bytes.length - 9)));
        const weights = new Uint8Array(await (await fetch('./webverify-training/models/mobilefacenet.safetensors')).arrayBuffer());
        weights[weights.length - 1] ^= 1; // another model: same shape, other checksum
        const other = await Verifier.create({ backend: 'cpu', worker, modelUrl: weights });
        out.otherModel = await code(Gallery.fromBytes(other, bytes));
        out.stillWorks = (await g.identify(await bitmap(faces.vlad3))).match;
        out.removed = [await g.remove('woman'), await g.remove('woman'), await g.size()];
        return out;
      }, { backend, worker, faces, stranger: orl('s1/1.pgm'), database });

      assert.deepEqual(first.vlad, { enrolled: 2, issues: [[], []] });
      assert.equal(first.woman.enrolled, 1);
      assert.equal(first.wrongPerson.enrolled, 0);
      assert.deepEqual(first.wrongPerson.issues[0].map((i) => i.code), ['INCONSISTENT']);
      assert.deepEqual(first.noFace.issues[0].map((i) => i.code), ['NO_FACE']);
      assert.equal(first.hit.match, 'vlad', JSON.stringify(first.hit));
      assert.ok(first.hit.face.box.width > 20 && first.hit.face.landmarks.rightEye.length === 2, 'the identified face comes back');
      assert.ok(first.hit.candidates[0].similarity > first.hit.threshold && first.hit.candidates[1].id === 'woman');
      assert.equal(first.stranger.match, null, JSON.stringify(first.stranger));
      assert.deepEqual(first.list, [{ id: 'vlad', templates: 2, metadata: { note: 'demo author' } }, { id: 'woman', templates: 1 }]);
      assert.equal(first.flipped, 'WebverifyError:CORRUPT_DATA');
      assert.equal(first.truncated, 'WebverifyError:CORRUPT_DATA');
      assert.equal(first.otherModel, 'WebverifyError:MODEL_MISMATCH');
      assert.equal(first.stillWorks, 'vlad');
      assert.deepEqual(first.removed, [true, false, 1]);

      // After a reload the saved gallery comes back with the right passphrase only.
      await page.reload();
      const second = await page.evaluate(async ({ backend, worker, vlad3, database }) => {
        const { Verifier, IndexedDBStore, Gallery } = await import('./webverify/index.js');
        const code = (p) => p.then(() => 'resolved', (e) => `${e.name}:${e.code}`);
        const v = await Verifier.create({ backend, worker });
        const out = {};
        out.wrongKey = await code(Gallery.load(v, new IndexedDBStore({ database, key: 'wrong passphrase' })));
        out.cryptoKeyForPassphrase = await code(Gallery.load(v, new IndexedDBStore({ database, key: await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']) })));
        out.empty = await Gallery.load(v, new IndexedDBStore({ database, record: 'nothing', key: 'x' }));
        const g = await Gallery.load(v, new IndexedDBStore({ database, key: 'correct horse battery staple' }));
        out.list = await g.list();
        const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(vlad3), (c) => c.charCodeAt(0))], { type: 'image/png' }), { colorSpaceConversion: 'none' });
        out.match = (await g.identify(bitmap)).match;
        await new IndexedDBStore({ database, key: 'x' }).clear();
        return out;
      }, { backend, worker, vlad3: faces.vlad3, database });
      assert.equal(second.wrongKey, 'WebverifyError:WRONG_KEY');
      assert.equal(second.cryptoKeyForPassphrase, 'WebverifyError:WRONG_KEY');
      assert.equal(second.empty, null);
      assert.equal(second.list.length, 2);
      assert.equal(second.match, 'vlad');
      assert.deepEqual(errors, []);
    });
  });
}

test('a stored record opens with its own PBKDF2 iteration count, not the current constant', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
  const out = await page.evaluate(async () => {
    const { IndexedDBStore } = await import('./webverify/index.js');
    const code = (p) => p.then((x) => (x instanceof Uint8Array ? Array.from(x) : 'resolved'), (e) => `${e.name}:${e.code}`);
    const database = 'webverify-kdf-test';
    // Records as a package with another iteration constant would have written them.
    async function storeRecord(record, iterations) {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const material = await crypto.subtle.importKey('raw', new TextEncoder().encode('passphrase'), 'PBKDF2', false, ['deriveKey']);
      const key = await crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: Math.min(iterations, 1000) }, material, { name: 'AES-GCM', length: 256 }, false, ['encrypt']);
      const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(record) }, key, new Uint8Array([1, 2, 3])));
      await new IndexedDBStore({ database, record: 'probe', key: 'x' }).clear(); // creates the database
      const db = await new Promise((resolve, reject) => { const r = indexedDB.open(database, 1); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
      const tx = db.transaction('records', 'readwrite');
      tx.objectStore('records').put({ format: 1, kdf: { name: 'PBKDF2-SHA-256', iterations, salt }, iv, ciphertext }, record);
      await new Promise((resolve) => { tx.oncomplete = resolve; });
      db.close();
    }
    await storeRecord('older', 1000);
    // A garbled count (here 1e12, hours of PBKDF2) is refused before any key derivation.
    await storeRecord('garbled', 1e12);
    const out = {
      older: await code(new IndexedDBStore({ database, record: 'older', key: 'passphrase' }).read()),
      garbled: await code(new IndexedDBStore({ database, record: 'garbled', key: 'passphrase' }).read()),
    };
    indexedDB.deleteDatabase(database);
    return out;
  });
  assert.deepEqual(out.older, [1, 2, 3]);
  assert.equal(out.garbled, 'WebverifyError:CORRUPT_DATA');
  assert.deepEqual(errors, []);
});
