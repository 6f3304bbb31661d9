// The face detector against an independent runtime: TensorFlow.js (CPU backend) runs the source
// BlazeFace short-range graph (`../shared/models-src/face-detection-short`) on real faces, and
// its raw outputs are decoded here from MediaPipe's description (SSD anchors, sigmoid scores,
// weighted suppression) — not by our code. Our detector (the built package in Node.js, the same
// Rust as natively) must find the same faces with the same boxes and keypoints.
//
// Inputs: ORL faces (92x112 grey) centred on a black 128x128 canvas, so that both runtimes get
// exactly the same input tensor with no resampling in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHARED, SITE, needsShared } from '../browser/harness.mjs';

const SIZE = 128;
const GRAPH = 'models-src/face-detection-short';
const KEYPOINTS = ['rightEye', 'leftEye', 'noseTip', 'mouth', 'rightEar', 'leftEar'];

/** An ORL face centred on a black 128x128 RGB canvas. */
function input(path) {
  const bytes = readFileSync(join(SHARED, 'data/orl', path));
  const [, w, h] = bytes.subarray(0, 20).toString('latin1').split(/\s+/).map(Number);
  const grey = bytes.subarray(bytes.length - w * h);
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  const [ox, oy] = [(SIZE - w) >> 1, (SIZE - h) >> 1];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) rgb.fill(grey[y * w + x], ((y + oy) * SIZE + x + ox) * 3, ((y + oy) * SIZE + x + ox) * 3 + 3);
  }
  return { data: rgb, width: SIZE, height: SIZE };
}

/** MediaPipe's short-range anchors: strides 8 (2 per cell) and 16 (6 per cell), centres in
 * [0, 1], in the graph's output order. */
function anchors() {
  const out = [];
  for (const [grid, perCell] of [[16, 2], [8, 6]]) {
    for (let y = 0; y < grid; y++) for (let x = 0; x < grid; x++) for (let k = 0; k < perCell; k++) out.push([(x + 0.5) / grid, (y + 0.5) / grid]);
  }
  return out;
}

/** Faces from the raw [896, 17] output: score ≥ 0.5, then weighted suppression at IoU 0.3. */
function decode(raw) {
  const faces = anchors().map(([ax, ay], i) => {
    const r = raw.subarray(i * 17, i * 17 + 17);
    const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, r[0]))));
    const cx = ax * SIZE + r[1];
    const cy = ay * SIZE + r[2];
    const points = KEYPOINTS.map((_, k) => [ax * SIZE + r[5 + 2 * k], ay * SIZE + r[6 + 2 * k]]);
    return { score, box: [cx - r[3] / 2, cy - r[4] / 2, cx + r[3] / 2, cy + r[4] / 2], points };
  }).filter((f) => f.score >= 0.5).sort((a, b) => b.score - a.score);
  const iou = (a, b) => {
    const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h;
    return union > 0 ? (w * h) / union : 0;
  };
  const out = [];
  let rest = faces;
  while (rest.length) {
    const [top] = rest;
    const cluster = rest.filter((f) => f === top || iou(f.box, top.box) > 0.3);
    rest = rest.filter((f) => !cluster.includes(f));
    const total = cluster.reduce((n, f) => n + f.score, 0);
    const avg = (get) => cluster.reduce((n, f) => n + get(f) * f.score, 0) / total;
    out.push({
      score: top.score,
      box: [0, 1, 2, 3].map((i) => avg((f) => f.box[i])),
      points: KEYPOINTS.map((_, k) => [avg((f) => f.points[k][0]), avg((f) => f.points[k][1])]),
    });
  }
  return out;
}

test('our detector finds the faces TF.js finds, at the same places', { skip: needsShared(GRAPH) || needsShared('data/orl/s1/1.pgm') }, async () => {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  await tf.setBackend('cpu');
  const json = JSON.parse(readFileSync(join(SHARED, GRAPH, 'facemesh-detection-short.json'), 'utf8'));
  const bin = readFileSync(join(SHARED, GRAPH, 'facemesh-detection-short.bin'));
  const graph = await loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
  }));
  const { Verifier } = await import(pathToFileURL(join(SITE, 'webverify/index.js')));
  const v = await Verifier.create({ backend: 'cpu' });

  let faces = 0;
  let worstBox = 0;
  let worstPoint = 0;
  let worstScore = 0;
  for (let person = 1; person <= 40; person += 3) {
    const image = input(`s${person}/1.pgm`);
    const x = tf.tensor(Float32Array.from(image.data, (p) => p / 127.5 - 1), [1, SIZE, SIZE, 3]);
    const raw = await graph.predict(x).data();
    const want = decode(raw);
    const got = await v.detect(image);
    assert.equal(got.length, want.length, `s${person}: ${got.length} faces, TF.js ${want.length}`);
    want.forEach((w, i) => {
      const g = got[i];
      const box = [g.box.x, g.box.y, g.box.x + g.box.width, g.box.y + g.box.height];
      worstBox = Math.max(worstBox, ...box.map((b, j) => Math.abs(b - w.box[j])));
      worstPoint = Math.max(worstPoint, ...KEYPOINTS.flatMap((k, j) => [Math.abs(g.landmarks[k][0] - w.points[j][0]), Math.abs(g.landmarks[k][1] - w.points[j][1])]));
      worstScore = Math.max(worstScore, Math.abs(g.score - w.score));
    });
    faces += want.length;
  }
  v.dispose();
  console.log(`${faces} faces; worst differences: box ${worstBox.toExponential(2)} px, keypoint ${worstPoint.toExponential(2)} px, score ${worstScore.toExponential(2)}`);
  assert.ok(faces >= 10, `TF.js found ${faces} faces in 14 ORL photos`);
  assert.ok(worstBox < 1e-3 && worstPoint < 1e-3, `boxes within ${worstBox} px, keypoints within ${worstPoint} px`);
  assert.ok(worstScore < 1e-5, `scores within ${worstScore}`);
});
