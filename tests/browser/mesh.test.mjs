// Five-point alignment and dense landmarks in the browser (`alignment: 'mesh'`), on the CPU (in
// the worker) and on WebGPU (inline): the same landmarks, head pose and eye openness as the native
// build for the same file, and the same embedding; a verifier without the mesh refuses
// `landmarks` with a typed error; `verify` reports each face's quality components. The native binary is the one `make test-native` builds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ROOT, SHARED, needsShared, openPage, start } from './harness.mjs';

const BIN = process.env.WEBVERIFY_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/webverify/target'), 'debug/webverify');
const FACE = join(SHARED, 'reference/mobilefacenet/inputs/face_02_samples_woman.png');

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

for (const [backend, worker] of [['cpu', true], ['webgpu', false]]) {
  test(`mesh alignment and landmarks on ${backend} (${worker ? 'worker' : 'inline'}) equal native`, { skip: needsShared() }, async () => {
    const mesh = join(ROOT, 'models/facemesh.safetensors');
    const native = JSON.parse(execFileSync(BIN, ['landmarks', FACE, '--mesh', mesh, '--detector', join(ROOT, 'models/blazeface-short.safetensors')], { encoding: 'utf8', cwd: ROOT }));
    const nativeEmbedding = JSON.parse(execFileSync(BIN, ['embed', FACE, '--mesh', mesh, '--weights', join(ROOT, 'models/mobilefacenet-int8.safetensors')], { encoding: 'utf8', cwd: ROOT })).embedding;
    const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
    const got = await page.evaluate(async ({ backend, worker, png }) => {
      const { Verifier } = await import('./webverify/index.js');
      const code = (p) => p.then(() => 'resolved', (e) => e.code);
      const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' }), { colorSpaceConversion: 'none' });
      const v = await Verifier.create({ backend, worker, alignment: 'mesh' });
      const out = { landmarks: await v.landmarks(bitmap), embedding: Array.from(await v.embed(bitmap)) };
      // verify reports each face's quality components (none for ready crops).
      out.quality = (await v.verify(bitmap, bitmap)).quality;
      out.qualityNone = (await v.verify(bitmap, bitmap, { face: 'none' })).quality;
      const blank = { data: new Uint8Array(64 * 64 * 4).fill(200), width: 64, height: 64 };
      out.noFace = await code(v.landmarks(blank));
      v.dispose();
      const plain = await Verifier.create({ backend, worker });
      out.withoutMesh = await code(plain.landmarks(bitmap));
      plain.dispose();
      out.badAlignment = await code(Verifier.create({ backend, worker, alignment: 'five' }));
      return out;
    }, { backend, worker, png: readFileSync(FACE).toString('base64') });
    const { landmarks } = got;
    assert.equal(landmarks.mesh.points.length, 468);
    landmarks.alignmentPoints.forEach((p, i) => {
      const q = native.alignmentPoints[i];
      assert.ok(Math.hypot(p[0] - q[0], p[1] - q[1]) < 0.5, `point ${i}: ${p} vs ${q}`);
    });
    for (const k of ['yaw', 'pitch', 'roll']) assert.ok(Math.abs(landmarks.headPose[k] - native.headPose[k]) < 0.5, `${k}: ${landmarks.headPose[k]} vs ${native.headPose[k]}`);
    landmarks.eyeOpenness.forEach((r, i) => assert.ok(Math.abs(r - native.eyeOpenness[i]) < 0.01));
    const cos = got.embedding.reduce((s, x, i) => s + x * nativeEmbedding[i], 0);
    console.log(`${backend}: pose ${JSON.stringify(landmarks.headPose)}, eyes ${landmarks.eyeOpenness}, embedding cosine to native ${cos.toFixed(6)}`);
    assert.ok(cos > 0.999, `cosine ${cos}`);
    assert.deepEqual([got.noFace, got.withoutMesh, got.badAlignment], ['NO_FACE', 'INVALID_INPUT', 'INVALID_INPUT']);
    assert.equal(got.quality.length, 2);
    // With the mesh the quality has its two components too, in the score's product.
    for (const q of got.quality) {
      const parts = ['sharpness', 'exposure', 'pose', 'faceSize', 'detection', 'occlusion', 'eyesOpen', 'visibility'];
      for (const k of ['score', ...parts]) assert.ok(q[k] >= 0 && q[k] <= 1, `${k} ${q[k]}`);
      assert.ok(Math.abs(q.score - parts.reduce((p, k) => p * q[k], 1)) < 1e-5, JSON.stringify(q));
    }
    assert.ok(Number.isFinite(landmarks.mesh.faceLogit) && landmarks.mesh.faceScore > 0.5);
    assert.equal(got.qualityNone, null);
    assert.deepEqual(errors, []);
  });
}
