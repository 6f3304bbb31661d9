// Fine-tuning in headless Chromium on both backends: a short run on a handful of ORL faces lowers
// the loss, the tuned embeddings differ from the shipped model's, a gallery of the shipped model is
// refused until migrated and then identifies, export → reset → import gives back the same
// embeddings, tuned weights are refused on another base model, a cancelled run changes nothing,
// and the engine keeps working. Prints the time per step.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED, needsShared, openPage, start } from './harness.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

/** An ORL face (grey 92x112 PGM, a ready crop) as plain pixels. */
function orl(path) {
  const bytes = readFileSync(join(SHARED, 'data/orl', path));
  const header = bytes.subarray(0, 20).toString('latin1').split(/\s+/);
  const [width, height] = [Number(header[1]), Number(header[2])];
  return { data: Array.from(bytes.subarray(bytes.length - width * height)), width, height };
}

// WebGPU runs on SwiftShader here (CPU emulation, about a second per face), so it gets a shorter run.
const RUNS = [
  { backend: 'cpu', worker: true, steps: 12, batchSize: 8 },
  { backend: 'webgpu', worker: true, steps: 6, batchSize: 4 },
  { backend: 'cpu', worker: false, steps: 12, batchSize: 8 },
];

for (const run of RUNS) {
  describe(`fine-tuning on ${run.backend}, ${run.worker ? 'in a worker' : 'inline'}`, { skip: needsShared() }, () => {
    test('loss goes down, embeddings change, export/import round-trips, galleries migrate, cancel', { timeout: 600_000 }, async () => {
      const faces = [];
      const labels = [];
      for (const person of [1, 2, 3, 4]) {
        for (const i of [1, 2, 3]) {
          faces.push(orl(`s${person}/${i}.pgm`));
          labels.push(`s${person}`);
        }
      }
      const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
      const out = await page.evaluate(async ({ run, faces, labels }) => {
        const { Verifier } = await import('./webverify/index.js');
        const code = (p) => p.then(() => 'resolved', (e) => `${e.name}:${e.code}`);
        const images = faces.map((f) => ({ data: Uint8Array.from(f.data), width: f.width, height: f.height }));
        const maxDiff = (a, b) => Math.max(...a.flatMap((x, i) => Array.from(x, (v, k) => Math.abs(v - b[i][k]))));
        const { training } = await import('./webverify-training/index.js');
        const r = {};
        // The training module is in the companion package: without it fineTune says so, and a
        // companion of another version is refused at create (its module would not link).
        const bare = await Verifier.create({ backend: run.backend, worker: run.worker });
        r.withoutTraining = await bare.fineTune({ images, labels, face: 'none', steps: 1 }).then(() => 'resolved', (e) => `${e.code}: ${e.message}`);
        r.bareStillWorks = (await bare.embed(images[0], { face: 'none' })).length;
        bare.dispose();
        r.otherVersion = await Verifier.create({ backend: run.backend, worker: run.worker, training: { ...training, version: '0.0.1' } }).then(() => 'resolved', (e) => `${e.code}: ${e.message}`);
        const v = await Verifier.create({ backend: run.backend, worker: run.worker, training });
        const shippedId = v.model.id;
        const before = await v.embedBatch(images, { face: 'none' });
        const g = v.createGallery();
        await g.enroll('s1', before.slice(0, 2));
        await g.enroll('s2', before.slice(3, 5));

        const progress = [];
        const loads = [];
        r.module = v.wasmModule;
        const tuned = await v.fineTune({
          images, labels, face: 'none', loss: 'supcon', trainable: 'adapter',
          steps: run.steps, batchSize: run.batchSize, lr: 1e-2, seed: 1,
          onProgress: (p) => progress.push(p),
          onLoad: (p) => loads.push(p),
        });
        r.loads = loads;
        r.steps = progress.map((p) => p.step);
        r.losses = Array.from(tuned.losses);
        r.ms = tuned.ms;
        r.tunedId = tuned.modelId;
        r.calibration = tuned.calibration;
        r.inherited = v.model.calibrationInherited;
        r.modelTuned = v.model.tuned;
        r.modelId = v.model.id;
        const after = await v.embedBatch(images, { face: 'none' });
        r.changed = maxDiff(after, before);

        // The shipped model's gallery: refused, then migrated exactly through the adapter.
        r.unmigrated = await code(g.identify(images[2], { face: 'none' }));
        r.migrated = await g.migrate();
        r.identified = (await g.identify(images[2], { face: 'none' })).match;

        const bytes = await v.exportTuned();
        r.exported = bytes.length;
        await v.resetModel();
        r.resetId = v.model.id;
        r.reset = maxDiff(await v.embedBatch(images, { face: 'none' }), before);
        await v.importTuned(bytes);
        r.importedId = v.model.id;
        r.imported = maxDiff(await v.embedBatch(images, { face: 'none' }), after);

        // Cancelled at the second step: ABORTED, the tuned model stays.
        const controller = new AbortController();
        r.cancelled = await code(v.fineTune({
          images, labels, face: 'none', loss: 'triplet', steps: 50, batchSize: 4,
          onProgress: (p) => { if (p.step === 2) controller.abort(); },
          signal: controller.signal,
        }));
        r.afterCancelId = v.model.id;
        r.badLoss = await code(v.fineTune({ images, labels, loss: 'hinge' }));
        r.noLabels = await code(v.fineTune({ images, face: 'none', loss: 'arcface' }));
        r.garbage = await code(v.importTuned(new Uint8Array([1, 2, 3])));

        // Tuned weights onto another base model: refused.
        const weights = new Uint8Array(await (await fetch('./webverify-training/models/mobilefacenet.safetensors')).arrayBuffer());
        weights[weights.length - 1] ^= 1;
        const other = await Verifier.create({ backend: 'cpu', worker: run.worker, modelUrl: weights });
        r.otherBase = await code(other.importTuned(bytes));
        other.dispose();

        r.stillWorks = (await v.embed(images[0], { face: 'none' })).length;
        r.shippedId = shippedId;
        v.dispose();
        return r;
      }, { run, faces, labels });

      const half = Math.floor(run.steps / 2);
      const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const [first, last] = [mean(out.losses.slice(0, half)), mean(out.losses.slice(half))];
      console.log(`fine-tune ${run.backend} ${run.worker ? 'worker' : 'inline'}: ${run.steps} steps of ${run.batchSize} images (${2 * run.batchSize} views) in ${(out.ms / 1000).toFixed(1)} s = ${(out.ms / run.steps).toFixed(0)} ms/step; loss ${first.toFixed(3)} → ${last.toFixed(3)}; export ${out.exported} bytes`);
      assert.deepEqual(out.steps, Array.from({ length: run.steps }, (_, i) => i + 1), 'progress after every step');
      // Verifiers run the cpu or the gpu module, which have no training code: the first
      // fineTune downloads the full module, reported in bytes, and trains on the verifier's
      // backend there.
      assert.equal(out.module, run.backend === 'cpu' ? 'cpu' : 'gpu');
      assert.match(out.withoutTraining, /^BACKEND_UNAVAILABLE: .*npm install webverify-training@0\.1\.0/);
      assert.equal(out.bareStillWorks, 192);
      assert.match(out.otherVersion, /^INVALID_INPUT: webverify-training 0\.0\.1 does not match webverify 0\.1\.0/);
      const lastLoad = out.loads.at(-1);
      assert.ok(out.loads.length > 0 && out.loads.every((p) => p.stage === 'training module'), JSON.stringify(out.loads.slice(0, 3)));
      assert.ok(lastLoad.loaded > 1e6 && lastLoad.loaded === lastLoad.total, `training module: ${lastLoad.loaded} of ${lastLoad.total} bytes`);
      assert.ok(last < first, `loss went down: ${out.losses}`);
      assert.ok(out.changed > 1e-3, `embeddings changed by ${out.changed}`);
      assert.notEqual(out.tunedId, out.shippedId);
      assert.equal(out.modelId, out.tunedId);
      assert.equal(out.modelTuned.scope, 'adapter');
      assert.equal(out.modelTuned.loss, 'supcon');
      // 4 people of 3 photos: 2 held back would give 3·3 = 9 impostor pairs, too few to calibrate on.
      assert.equal(out.calibration.inherited, true);
      assert.equal(out.calibration.heldBackClasses, 0);
      assert.match(out.calibration.reason, /would give 9 impostor pairs, fewer than the 100/);
      assert.equal(out.inherited, true);
      assert.equal(out.unmigrated, 'WebverifyError:MODEL_MISMATCH');
      assert.equal(out.migrated, true);
      assert.equal(out.identified, 's1');
      assert.equal(out.resetId, out.shippedId);
      assert.ok(out.reset < 1e-5, `reset gives the shipped embeddings (${out.reset})`);
      assert.equal(out.importedId, out.tunedId);
      assert.ok(out.imported < 1e-5, `import gives the tuned embeddings (${out.imported})`);
      assert.equal(out.cancelled, 'WebverifyError:ABORTED');
      assert.equal(out.afterCancelId, out.tunedId);
      assert.equal(out.badLoss, 'WebverifyError:INVALID_INPUT');
      assert.equal(out.noLabels, 'WebverifyError:INVALID_INPUT');
      assert.equal(out.garbage, 'WebverifyError:MODEL_LOAD');
      assert.equal(out.otherBase, 'WebverifyError:MODEL_MISMATCH');
      assert.equal(out.stillWorks, 192);
      assert.deepEqual(errors, []);
    });
  });
}

describe('a tuned model calibrates itself', { skip: needsShared() }, () => {
  test('on the people held back from training; the file carries it; holdBack is checked', { timeout: 600_000 }, async () => {
    const faces = [];
    const labels = [];
    for (let person = 1; person <= 12; person++) {
      for (let i = 1; i <= 10; i++) {
        faces.push(orl(`s${person}/${i}.pgm`));
        labels.push(person);
      }
    }
    const { page, errors } = await openPage(env.browser, `${env.url}blank.html`);
    const out = await page.evaluate(async ({ faces, labels }) => {
      const { Verifier } = await import('./webverify/index.js');
      const { training } = await import('./webverify-training/index.js');
      const images = faces.map((f) => ({ data: Uint8Array.from(f.data), width: f.width, height: f.height }));
      const v = await Verifier.create({ backend: 'cpu', worker: true, training });
      const r = {};
      const [a, b] = [images[0], images[1]];
      r.tuned = await v.fineTune({ images, labels, face: 'none', loss: 'supcon', steps: 3, batchSize: 8 });
      r.inherited = v.model.calibrationInherited;
      r.threshold = (await v.verify(a, b, { face: 'none', far: 1e-2 })).threshold;
      const bytes = await v.exportTuned();
      await v.resetModel();
      r.shippedThreshold = (await v.verify(a, b, { face: 'none', far: 1e-2 })).threshold;
      await v.importTuned(bytes);
      r.importedThreshold = (await v.verify(a, b, { face: 'none', far: 1e-2 })).threshold;
      r.importedInherited = v.model.calibrationInherited;
      r.badShare = await v.fineTune({ images, labels, face: 'none', steps: 1, holdBack: 0.6 }).then(() => 'resolved', (e) => `${e.code}: ${e.message}`);
      v.dispose();
      return r;
    }, { faces, labels });
    const c = out.tuned.calibration;
    console.log(`held back ${c.heldBackClasses} people (${c.heldBackImages} photos; ${c.genuine} genuine, ${c.impostors} impostor pairs): ${JSON.stringify(c.thresholds)}`);
    // round(0.2 × 12) = 2 people of 10 photos.
    assert.deepEqual([c.heldBackClasses, c.heldBackImages, c.genuine, c.impostors], [2, 20, 90, 100]);
    assert.equal(c.inherited, false);
    assert.equal(c.reason, null);
    assert.deepEqual(c.thresholds.map((t) => t.source), ['refit', 'shipped', 'shipped'], '100 impostor pairs support FAR 1e-2 only');
    assert.equal(out.inherited, false);
    assert.equal(out.threshold, c.thresholds[0].threshold, 'verify uses the fitted threshold');
    assert.notEqual(out.shippedThreshold, out.threshold);
    assert.equal(out.importedThreshold, out.threshold, 'the exported file carries the calibration');
    assert.equal(out.importedInherited, false);
    assert.match(out.badShare, /^INVALID_INPUT: .*holdBack 0\.6/);
    assert.deepEqual(errors, []);
  });
});
