// Reference outputs of MediaPipe Face Mesh as TF.js runs it (the graph in
// ../shared/models-src/face-mesh/, TF.js 4.22 CPU backend in Node.js) for the port's fidelity test
// (tests/facemesh.rs). Run from the project root, with TF.js installed anywhere Node can find it:
//
//   npm install --no-save @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-converter@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0
//   node tools/facemesh_reference.mjs > tests/fixtures/facemesh-reference.json
//
// Inputs, [192, 192, 3] RGB divided by 255 as TF.js facemesh feeds it, rebuilt bit for bit by the test:
// two synthetic patterns (the integer formula below) and the four reference faces
// (../shared/reference/mobilefacenet/inputs/face_0*.png, 112x112) enlarged by nearest neighbour
// (source pixel floor(i * 112 / 192)).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = join(ROOT, '../shared');
const MODEL = join(SHARED, 'models-src/face-mesh');
const { decodePNG } = await import(join(SHARED, 'peers/tfjs/png.mjs'));
const SIDE = 192;
const FACES = ['face_00_faceid.png', 'face_01_facematch_selected.png', 'face_02_samples_woman.png', 'face_03_samples_man.png'];

function synthetic(k) {
  const out = new Float32Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) for (let c = 0; c < 3; c++) {
    out[(y * SIDE + x) * 3 + c] = ((29 * x + 53 * y + 97 * c + 41 * k * k + ((x * y) % 13) * 7) % 256) / 255;
  }
  return out;
}

function face(name) {
  const png = decodePNG(readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', name)));
  const out = new Float32Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) {
    const [sx, sy] = [Math.floor((x * png.width) / SIDE), Math.floor((y * png.height) / SIDE)];
    for (let c = 0; c < 3; c++) out[(y * SIDE + x) * 3 + c] = png.rgb[(sy * png.width + sx) * 3 + c] / 255;
  }
  return out;
}

await tf.setBackend('cpu');
const json = JSON.parse(readFileSync(join(MODEL, 'facemesh.json'), 'utf8'));
const bin = readFileSync(join(MODEL, 'facemesh.bin'));
const model = await loadGraphModel({
  load: async () => ({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    format: json.format,
    signature: json.signature,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  }),
});
const inputs = [['synthetic', 0, synthetic(0)], ['synthetic', 1, synthetic(1)], ...FACES.map((f) => ['face', f, face(f)])];
const out = { inputs: inputs.map(([kind, key]) => [kind, key]), outputs: model.outputs.map((o) => o.name), mesh: [], faceflag: [] };
for (const [, , pixels] of inputs) {
  const x = tf.tensor4d(pixels, [1, SIDE, SIDE, 3]);
  const results = model.execute(x, ['Identity_2', 'Identity_1']);
  // Four decimals: 1e-4 pixel, far below the test's bound, and a fixture a quarter the size.
  out.mesh.push(Array.from(await results[0].data(), (v) => Number(v.toFixed(4))));
  out.faceflag.push((await results[1].data())[0]);
  tf.dispose([x, ...results]);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
