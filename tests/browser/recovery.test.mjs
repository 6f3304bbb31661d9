// Recovery after a trap (issue 14, item 4), with a real Rust panic: the site is served with the
// `fault-injection` build of the engine (`make fault-wasm`: `Image::from_pixels` panics on a
// 7x13 image), so a trap is provoked through the public API, in the worker and inline, on the
// CPU and on WebGPU. After it: the call that trapped fails with INTERNAL (never hangs), the
// same verifier answers the next call with the tuned model and the refitted calibration it had,
// galleries from before say they were lost, new ones work, and it survives a second trap.
// And a lost WebGPU device, with a batch in flight: inline `GPUDevice.destroy()` on the page's
// device (caught by wrapping `requestDevice` before the page loads), in the worker the same
// through a preamble the test gives the package's worker. The verifier moves to the CPU with the same model, calibration and
// galleries, and the calls run again there: none fails.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SHARED, SITE, halfAdapterTuned, needsShared, openPage, start } from './harness.mjs';

const FAULT_WASM = join(ROOT, 'build/fault-wasm');
const FAULT_SITE = join(ROOT, 'build/fault-site');

let env;
before(async () => {
  if (!existsSync(join(FAULT_WASM, 'webverify_cpu_bg.wasm'))) throw new Error(`${FAULT_WASM} is not built: run 'make fault-wasm'`);
  // The built site with the plain builds' modules and glues (gpu and cpu) swapped for the fault
  // builds'.
  rmSync(FAULT_SITE, { recursive: true, force: true });
  cpSync(SITE, FAULT_SITE, { recursive: true });
  for (const file of ['webverify_gpu.js', 'webverify_gpu_bg.wasm', 'webverify_cpu.js', 'webverify_cpu_bg.wasm']) copyFileSync(join(FAULT_WASM, file), join(FAULT_SITE, 'webverify/wasm', file));
  env = await start({ site: FAULT_SITE });
});
after(async () => {
  await env?.close();
  rmSync(FAULT_SITE, { recursive: true, force: true });
});

const png = (n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64');
const faces = () => ({ a: png('face_00_faceid.png'), b: png('face_01_facematch_selected.png'), tuned: halfAdapterTuned() });

/** Runs in the page. */
async function crashAndRecover({ backend, worker, faces, lose }) {
  const { Verifier } = await import('./webverify/index.js');
  const settle = (p, ms = 120_000) => Promise.race([
    p.then(() => ({ code: 'resolved' }), (e) => (e?.name === 'WebverifyError' ? { code: e.code, message: e.message } : { code: `raw ${e?.name}`, message: e?.message })),
    new Promise((resolve) => setTimeout(() => resolve({ code: 'HANG' }), ms)),
  ]);
  const bitmap = async (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }), { colorSpaceConversion: 'none' });
  const [a, b] = [await bitmap(faces.a), await bitmap(faces.b)];
  const trap = () => ({ data: new Uint8Array(7 * 13 * 4).fill(128), width: 7, height: 13 });
  const out = {};

  const v = await Verifier.create({ backend, worker, wasmBuild: 'simd' });
  out.backend = v.backend;
  out.mode = v.mode;
  const shipped = await v.verify(a, b, { far: 1e-2 });

  // State to restore: tuned weights (an adapter e + 0.5·e: another model id, same direction)…
  const D = v.model.embeddingDim;
  const tuned = Uint8Array.from(atob(faces.tuned), (c) => c.charCodeAt(0));
  out.shippedId = v.model.id;
  out.tunedId = (await v.importTuned(tuned)).id;

  // …and a calibration refitted on 300 impostor pairs of random directions and a few genuine.
  const ea = await v.embed(a);
  const eb = await v.embed(b);
  let seed = 7;
  const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 - 0.5; };
  const unit = () => { const x = Float32Array.from({ length: D }, random); const n = Math.hypot(...x); return x.map((y) => y / n); };
  const pairs = [...Array.from({ length: 300 }, () => ({ a: unit(), b: unit(), same: false })), ...Array.from({ length: 20 }, () => ({ a: ea, b: eb, same: true }))];
  await v.calibrate(pairs);
  const calibrated = await v.verify(a, b, { far: 1e-2 });
  out.calibrationChanged = calibrated.threshold !== shipped.threshold;

  const gallery = v.createGallery();
  await gallery.enroll('me', [ea]);

  if (lose === 'device') {
    // The device is lost with a batch in flight: that call and the next run again on the CPU.
    const batch = v.embedBatch([a, b, a, b]);
    await window.loseDevice();
    out.batch = await settle(batch.then((es) => { if (es.length !== 4 || es.some((e) => e.length !== D)) throw new Error(`${es.length} embeddings`); }));
    out.lostCall = await settle(v.verify(a, b, { far: 1e-2 }));
    out.oldGallery = await settle(gallery.size().then((n) => { if (n !== 1) throw new Error(`size ${n}`); }));
    out.backendAfter = v.backend;
    const again = await v.verify(a, b, { far: 1e-2 });
    out.afterMatch = again.match;
    // Another backend: the same model within the two backends' fidelity (detection included).
    out.similarityDelta = Math.abs(again.similarity - calibrated.similarity);
    out.sameThreshold = again.threshold === calibrated.threshold;
    out.modelAfter = v.model.id;
    out.identifyOld = (await gallery.identify(eb)).match;
    v.dispose();
    return out;
  }

  // The trap, with a genuine verification in flight beside it.
  const inFlight = v.verify(a, b, { far: 1e-2 });
  out.crash = await settle(v.embed(trap(), { face: 'none' }));
  out.inFlight = await settle(inFlight);

  // The same verifier afterwards.
  const again = await v.verify(a, b, { far: 1e-2 });
  out.afterMatch = again.match;
  out.sameSimilarity = Math.abs(again.similarity - calibrated.similarity) < 1e-6;
  out.sameThreshold = again.threshold === calibrated.threshold;
  out.modelAfter = v.model.id;
  out.oldGallery = await settle(gallery.size());
  const fresh = v.createGallery();
  await fresh.enroll('me', [ea]);
  out.newGallery = (await fresh.identify(eb)).match;

  // A second trap, from another method, then a plain verification again.
  out.crash2 = await settle(v.detect(trap()));
  out.afterSecond = (await v.verify(a, b)).match;
  out.modelAfterSecond = v.model.id;

  v.dispose();
  out.disposed = await settle(v.embed(a));
  return out;
}

for (const [backend, worker] of [['cpu', true], ['cpu', false], ['webgpu', false]]) {
  describe(`recovery after a trap on ${backend}, ${worker ? 'in a worker' : 'inline'}`, { skip: needsShared() }, () => {
    test('the trapping call fails with INTERNAL; the verifier goes on with its model and calibration', async () => {
      const { page } = await openPage(env.browser, `${env.url}blank.html`);
      let workers = 0;
      page.on('worker', () => { workers += 1; });
      const out = await page.evaluate(crashAndRecover, { backend, worker, faces: faces(), lose: 'trap' });
      console.log(JSON.stringify(out));
      assert.equal(out.crash.code, 'INTERNAL', `the trapping call: ${JSON.stringify(out.crash)}`);
      assert.match(out.crash.message, /crashed/);
      assert.ok(out.inFlight.code === 'resolved' || out.inFlight.code === 'INTERNAL', `the call in flight: ${JSON.stringify(out.inFlight)}`);
      assert.ok(out.calibrationChanged, 'the refit moved the threshold (else restoring it proves nothing)');
      assert.notEqual(out.tunedId, out.shippedId);
      assert.equal(out.afterMatch, true);
      assert.ok(out.sameSimilarity, 'same similarity as before the trap');
      assert.ok(out.sameThreshold, 'the refitted calibration was restored');
      assert.equal(out.modelAfter, out.tunedId, 'the tuned model was restored');
      assert.equal(out.oldGallery.code, 'INTERNAL');
      assert.match(out.oldGallery.message, /lost/);
      assert.equal(out.newGallery, 'me');
      assert.equal(out.crash2.code, 'INTERNAL');
      assert.equal(out.afterSecond, true);
      assert.equal(out.modelAfterSecond, out.tunedId);
      assert.equal(out.disposed.code, 'DISPOSED');
      // The same recovery in both modes: the worker rebuilt its engine after each trap, as the
      // page does inline; it was never replaced.
      assert.equal(workers, worker ? 1 : 0, 'workers started');
      await page.close();
    });
  });
}

describe('a worker that dies outright', { skip: needsShared() }, () => {
  test('is replaced by one with the same model and calibration; its galleries say they were lost', async () => {
    // The worker's death as the browser reports it (its `error` event: a script that failed, a
    // thread killed for memory), raised on the Worker objects the package made.
    await env.browser.addInitScript(() => {
      const Made = window.Worker;
      window.madeWorkers = [];
      window.Worker = class extends Made {
        constructor(...args) {
          super(...args);
          window.madeWorkers.push(this);
        }
      };
    });
    const { page } = await openPage(env.browser, `${env.url}blank.html`);
    const out = await page.evaluate(async ({ faces }) => {
      const { Verifier } = await import('./webverify/index.js');
      const bitmap = async (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
      const [a, b] = [await bitmap(faces.a), await bitmap(faces.b)];
      const v = await Verifier.create({ backend: 'cpu', worker: true });
      const ea = await v.embed(a);
      const eb = await v.embed(b);
      const D = v.model.embeddingDim;
      let seed = 3;
      const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 - 0.5; };
      const unit = () => { const x = Float32Array.from({ length: D }, random); const n = Math.hypot(...x); return x.map((y) => y / n); };
      await v.calibrate([...Array.from({ length: 200 }, () => ({ a: unit(), b: unit(), same: false })), { a: ea, b: eb, same: true }]);
      const before = await v.verify(a, b, { far: 1e-2 });
      const gallery = v.createGallery();
      await gallery.enroll('me', [ea]);
      const [first] = window.madeWorkers;
      first.onerror(new ErrorEvent('error', { message: 'killed for the test' }));
      const after = await v.verify(a, b, { far: 1e-2 });
      const lost = await gallery.size().then(() => 'resolved', (e) => `${e.code}: ${e.message}`);
      v.dispose();
      return { workers: window.madeWorkers.length, isVerifier: v instanceof Verifier, sameThreshold: after.threshold === before.threshold, match: after.match, lost };
    }, { faces: faces() });
    assert.equal(out.workers, 2, 'a second worker was started');
    assert.ok(out.isVerifier);
    assert.ok(out.sameThreshold, 'the refitted calibration was restored in the new worker');
    assert.equal(out.match, true);
    assert.match(out.lost, /^INTERNAL: .*lost/);
    await page.close();
  });
});

/** What a verifier did after its GPU device was lost with a batch in flight. */
function assertMovedToCpu(out) {
  console.log(JSON.stringify(out));
  assert.equal(out.batch.code, 'resolved', `the batch in flight ran again on the CPU: ${JSON.stringify(out.batch)}`);
  assert.equal(out.lostCall.code, 'resolved', JSON.stringify(out.lostCall));
  assert.match(out.backendAfter, /^flex \(moved from WebGPU: .*device was lost/);
  assert.equal(out.oldGallery.code, 'resolved', 'a gallery survives the move');
  assert.equal(out.afterMatch, true);
  assert.ok(out.similarityDelta < 1e-3, `the CPU gives the same similarity within 1e-3: ${out.similarityDelta}`);
  assert.ok(out.sameThreshold, 'the refitted calibration came along');
  assert.equal(out.modelAfter, out.tunedId, 'the tuned model came along');
  assert.equal(out.identifyOld, 'me');
}

describe('a lost WebGPU device', { skip: needsShared() }, () => {
  test('inline: the batch in flight and later calls run on the CPU, with the model, calibration and galleries', async () => {
    const page = await env.browser.newPage();
    page.setDefaultTimeout(600_000);
    // The page's own devices, caught as they are made, are destroyed.
    await page.addInitScript(() => {
      const { requestDevice } = GPUAdapter.prototype;
      GPUAdapter.prototype.requestDevice = async function (...args) {
        const device = await requestDevice.apply(this, args);
        (window.gpuDevices ??= []).push(device);
        return device;
      };
      window.loseDevice = async () => { for (const device of window.gpuDevices) device.destroy(); };
    });
    await page.goto(`${env.url}blank.html`);
    assertMovedToCpu(await page.evaluate(crashAndRecover, { backend: 'webgpu', worker: false, faces: faces(), lose: 'device' }));
    await page.close();
  });

  test('in the worker: the same', async () => {
    // A page cannot reach a worker's device: each worker the package starts gets a preamble that
    // catches its devices the same way and destroys them when the page says so (a
    // BroadcastChannel), then runs the package's worker module.
    const page = await env.browser.newPage();
    page.setDefaultTimeout(600_000);
    await page.addInitScript(() => {
      const Made = window.Worker;
      window.Worker = class extends Made {
        constructor(url, options) {
          let module;
          try {
            module = String(new URL(url, location.href));
          } catch {
            super(url, options); // the package's probe for module workers
            return;
          }
          // The package's worker module first (a static import: its message handler is set before
          // any message is taken), then the catch of its devices (made at the first request).
          const preamble = `
            import ${JSON.stringify(module)};
            const { requestDevice } = GPUAdapter.prototype;
            const devices = [];
            GPUAdapter.prototype.requestDevice = async function (...args) {
              const device = await requestDevice.apply(this, args);
              devices.push(device);
              return device;
            };
            new BroadcastChannel('lose-device').onmessage = () => { for (const device of devices) device.destroy(); };`;
          super(URL.createObjectURL(new Blob([preamble], { type: 'text/javascript' })), options);
        }
      };
      window.loseDevice = async () => { new BroadcastChannel('lose-device').postMessage('now'); };
    });
    await page.goto(`${env.url}blank.html`);
    const out = await page.evaluate(crashAndRecover, { backend: 'webgpu', worker: true, faces: faces(), lose: 'device' });
    assert.equal(out.mode, 'worker');
    assertMovedToCpu(out);
    await page.close();
  });
});
