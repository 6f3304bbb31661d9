// The npm package in Node.js (CPU backend): it loads its own wasm and weights from disk, finds and
// aligns faces in raw pixels, verifies, and keeps a gallery. Runs against the built site's copy
// of the package (`make site`), as a user's `import 'webverify'` would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHARED, SITE, needsShared } from '../browser/harness.mjs';

/** An ORL face (grey PGM) as { data, width, height }. */
function orl(path) {
  const bytes = readFileSync(join(SHARED, 'data/orl', path));
  const [, w, h] = bytes.subarray(0, 20).toString('latin1').split(/\s+/).map(Number);
  return { data: bytes.subarray(bytes.length - w * h), width: w, height: h };
}

test('the package runs in Node.js on the CPU', { skip: needsShared() || needsShared('data/orl/s1/1.pgm') }, async () => {
  const { Verifier, WebverifyError } = await import(pathToFileURL(join(SITE, 'webverify/index.js')));
  const v = await Verifier.create({ backend: 'auto' });
  assert.match(v.backend, /^flex \(navigator\.gpu is missing\)$/);
  const [a1, a2, b1] = [orl('s1/1.pgm'), orl('s1/2.pgm'), orl('s2/1.pgm')];
  const same = await v.verify(a1, a2);
  const different = await v.verify(a1, b1);
  console.log(`ORL same person ${same.similarity.toFixed(3)}, different ${different.similarity.toFixed(3)}`);
  assert.ok(same.similarity > different.similarity, `${same.similarity} vs ${different.similarity}`);
  assert.deepEqual(same.faces, [1, 1]);
  const g = v.createGallery();
  await g.enroll('s1', [a1], { force: true });
  await g.enroll('s2', [b1], { force: true });
  assert.equal((await g.identify(a2, { topK: 2 })).candidates[0].id, 's1');
  await assert.rejects(v.embed({ data: new Uint8Array(5), width: 2, height: 2 }), (e) => e instanceof WebverifyError && e.code === 'INVALID_INPUT');
  v.dispose();
});
