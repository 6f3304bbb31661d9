// The host's side of the protocol: one engine host (engine-host.js) and its galleries, driven
// by requests `(target, args)`. The module worker (worker.js) answers the page's messages with
// it, and inline mode calls it directly (transport.js), so that both modes run the very same
// code beneath the public Verifier and Gallery.
import { EngineHost } from './engine-host.js';
import { WebverifyError, wrapError } from './errors.js';
import { GALLERY_METHODS, VERIFIER_METHODS } from './protocol.js';
// Every module beneath the host, requested here at once: a browser finds a module's imports only
// once it has it, so the chain host → engine-host → loading → glue cost a round trip per level
// (about 0.5 s of a phone's cold start at 100 ms RTT and 4x CPU, docs/BENCHMARKS.md, "Phones").
// tests/node/layout.test.mjs keeps this list equal to the host's whole module graph.
import './assets.js';
import './cache.js';
import './constants.js';
import './file-sizes.js';
import './gallery-host.js';
import './input.js';
import './loading.js';
import './recovery.js';
import './support.js';
import './version.js';
import './wasm/webverify.js';
import './wasm/webverify_cpu.js';
import './wasm/webverify_gpu.js';

/** Calls after which the page keeps the model and calibration (`state`) for a restart of a
 * worker that died. */
const STATEFUL = new Set(['calibrate', 'resetCalibration', 'importTuned', 'resetModel']);

// Not Object.hasOwn: Chrome 93, Firefox 92, above the package's oldest browsers.
const own = (table, name) => Object.prototype.hasOwnProperty.call(table, name);

export class Host {
  /** The engine host, once `create` made it. */
  #engine = null;
  #galleries = new Map();
  /** Fine-tuning runs in progress: job number → AbortController. */
  #jobs = new Map();

  /** What the page shows of the engine: `{ backend, model, wasmBuild, wasmModule, tta, engine }`
   * (`engine`: the backend a restart should ask for; `backend` may carry why). */
  describe() {
    const v = this.#engine;
    return { backend: v.backend, model: v.model, wasmBuild: v.wasmBuild, wasmModule: v.wasmModule, tta: v.tta, engine: v._engineBackend() };
  }

  #gallery(handle) {
    const g = this.#galleries.get(handle);
    if (!g) throw new WebverifyError('DISPOSED', 'this Gallery was disposed');
    return g;
  }

  #verifier() {
    if (!this.#engine) throw new WebverifyError('INVALID_INPUT', 'the verifier is not ready');
    return this.#engine;
  }

  /** Request handlers; `progress(value)` reports a long job's progress to the page. */
  #handlers = {
    create: async ([options], progress) => {
      this.#engine = await EngineHost.create({ ...options, onProgress: progress });
      return this.describe();
    },
    /** Puts back the model and calibration of a worker that died. */
    restore: ([state]) => this.#verifier()._restore(state),
    galleryCreate: ([handle]) => {
      this.#galleries.set(handle, this.#verifier().createGallery());
    },
    galleryFromBytes: async ([handle, bytes, key]) => {
      this.#galleries.set(handle, await this.#verifier()._galleryFromBytes(bytes, key));
    },
    galleryDispose: ([handle]) => {
      this.#galleries.get(handle)?.dispose();
      this.#galleries.delete(handle);
    },
    gallery: ([handle, method, args]) => {
      if (!own(GALLERY_METHODS, method)) throw new WebverifyError('INVALID_INPUT', `no gallery method ${method}`);
      return this.#gallery(handle)[method](...args);
    },
    fineTune: async ([images, options, job], progress) => {
      const controller = new AbortController();
      this.#jobs.set(job, controller);
      try {
        return await this.#verifier().fineTune({
          ...options,
          images,
          signal: controller.signal,
          onProgress: (value) => progress(value),
          onLoad: (load) => progress({ load }),
        });
      } finally {
        this.#jobs.delete(job);
      }
    },
    cancel: ([job]) => {
      this.#jobs.get(job)?.abort();
    },
    verifier: ([method, args]) => {
      if (!own(VERIFIER_METHODS, method)) throw new WebverifyError('INVALID_INPUT', `no verifier method ${method}`);
      return this.#verifier()[method](...args);
    },
    dispose: () => {
      for (const g of this.#galleries.values()) g.dispose();
      this.#galleries.clear();
      for (const job of this.#jobs.values()) job.abort();
      this.#engine?.dispose();
    },
  };

  /**
   * Runs one request. Resolves to `{ result, backend, engine, model, state? }`: the backend (and
   * `engine`, what a restart asks for) and model as they are now (a lost GPU moves the engine to
   * the CPU, `auto` to WebGPU; fine-tuning, a tuned import or a reset change the model), and `state` (the tuned weights and calibration) after a call that changed
   * it. Rejects with a WebverifyError carrying `backend` too.
   */
  async call(target, args, progress = () => {}) {
    try {
      if (!own(this.#handlers, target)) throw new WebverifyError('INVALID_INPUT', `unknown request ${target}`);
      const result = await this.#handlers[target](args, progress);
      const stateful = (target === 'verifier' && STATEFUL.has(args[0])) || target === 'fineTune';
      const reply = { result, backend: this.#engine?.backend, engine: this.#engine?._engineBackend(), model: this.#engine?.model };
      if (stateful) reply.state = this.#engine._state();
      return reply;
    } catch (e) {
      const err = wrapError(e);
      err.backend = this.#engine?.backend;
      err.engine = this.#engine?._engineBackend();
      throw err;
    }
  }
}
