// The module worker behind the default Verifier: it runs the inline engine (index.js with
// worker: false) off the page's main thread and answers worker-client.js's messages
// `{ id, target, method, args }` with `{ id, result }` or `{ id, error: { code, message } }`.
import { Verifier, Gallery } from './index.js';
import { wrapError } from './errors.js';
import { GALLERY_METHODS, VERIFIER_METHODS } from './protocol.js';
import { watchTraps } from './recovery.js';

// A trap of the wasm instance is answered here (the calls in flight fail with `trapped`, and
// the page's client restarts this worker), not passed on to the page as a worker error.
watchTraps(undefined, { handled: true });

/** Calls after which the page's client keeps the model and calibration (`state`) for a
 * restart. */
const STATEFUL = new Set(['calibrate', 'resetCalibration', 'importTuned', 'resetModel']);

let verifier = null;
const galleries = new Map();
/** Fine-tuning runs in progress: job number → AbortController. */
const jobs = new Map();

function gallery(handle) {
  const g = galleries.get(handle);
  if (!g) throw wrapError({ code: 'DISPOSED', message: 'this Gallery was disposed' });
  return g;
}

const handlers = {
  async create([options, job]) {
    const onProgress = (value) => self.postMessage({ progress: job, value });
    verifier = await Verifier.create({ ...options, worker: false, onProgress });
    return { backend: verifier.backend, model: verifier.model, wasmBuild: verifier.wasmBuild, wasmModule: verifier.wasmModule, engine: verifier._engineBackend() };
  },
  /** Puts back the model and calibration of a worker that crashed (worker-client.js). */
  restore([state]) {
    return verifier._restore(state);
  },
  galleryCreate([handle]) {
    galleries.set(handle, verifier.createGallery());
  },
  async galleryFromBytes([handle, bytes, key]) {
    galleries.set(handle, await Gallery.fromBytes(verifier, bytes, key === undefined ? undefined : { key }));
  },
  galleryDispose([handle]) {
    galleries.get(handle)?.dispose();
    galleries.delete(handle);
  },
  gallery([handle, method, args]) {
    return gallery(handle)[method](...args);
  },
  async fineTune([images, options, job]) {
    const controller = new AbortController();
    jobs.set(job, controller);
    try {
      return await verifier.fineTune({
        ...options,
        images,
        signal: controller.signal,
        onProgress: (value) => self.postMessage({ progress: job, value }),
        onLoad: (load) => self.postMessage({ progress: job, value: { load } }),
      });
    } finally {
      jobs.delete(job);
    }
  },
  cancel([job]) {
    jobs.get(job)?.abort();
  },
  verifier([method, args]) {
    if (!verifier) throw wrapError({ code: 'INVALID_INPUT', message: 'the verifier is not ready' });
    return verifier[method](...args);
  },
};

const own = (table, name) => Object.hasOwn(table, name);

self.onmessage = async ({ data: { id, target, args } }) => {
  try {
    if (target === 'gallery' && !own(GALLERY_METHODS, args[1])) throw wrapError({ code: 'INVALID_INPUT', message: `no gallery method ${args[1]}` });
    if (target === 'verifier' && !own(VERIFIER_METHODS, args[0])) throw wrapError({ code: 'INVALID_INPUT', message: `no verifier method ${args[0]}` });
    const handler = handlers[target];
    if (!handler) throw wrapError({ code: 'INVALID_INPUT', message: `unknown request ${target}` });
    const result = await handler(args);
    const stateful = (target === 'verifier' && STATEFUL.has(args[0])) || target === 'fineTune';
    // Embeddings and crops go back without a copy.
    const transfer = [];
    const collect = (x) => { if (ArrayBuffer.isView(x)) transfer.push(x.buffer); else if (x?.data?.buffer) transfer.push(x.data.buffer); };
    if (Array.isArray(result)) result.forEach(collect); else collect(result);
    if (result?.losses) collect(result.losses);
    const reply = stateful ? { id, result, state: verifier._state() } : { id, result };
    self.postMessage(reply, transfer.filter((b, i, all) => all.indexOf(b) === i));
  } catch (e) {
    const err = wrapError(e);
    // The backend too: a lost GPU moves the verifier to the CPU.
    self.postMessage({ id, error: { code: err.code, message: err.message, trapped: err.trapped === true, backend: verifier?.backend } });
  }
};
