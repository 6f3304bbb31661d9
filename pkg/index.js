// webverify's public API: Verifier and Gallery, one class each. Each Verifier speaks to its
// engine through a transport (transport.js): a module worker by default on a page, or this
// thread (`worker: false`); the engine and everything beside it run in the host (host.js,
// engine-host.js), the same code in both modes. The methods are made from the table in
// protocol.js; inputs cross as input.js says; every failure is a WebverifyError (errors.js).
import { bindTransport, transportOf } from './binding.js';
import { runChallenge } from './challenge.js';
import { WebverifyError, guardMethods } from './errors.js';
import { checkPostable, options } from './input.js';
import { VERIFIER_METHODS } from './protocol.js';
import { requireWasm, workerMissing } from './support.js';
import { InlineTransport, WorkerTransport, pageUrls } from './transport.js';
import { Gallery } from './gallery.js';

export { WebverifyError } from './errors.js';
export { Gallery } from './gallery.js';
export { IndexedDBStore } from './store.js';

/** Cosine similarity of two embeddings, in plain JavaScript (no wasm needed on this thread):
 * the same arithmetic and checks as the engine's (src/vector.rs), in double precision. */
function cosine(a, b) {
  const isVector = (x) => x instanceof Float32Array || x instanceof Float64Array || Array.isArray(x);
  if (!isVector(a) || !isVector(b)) {
    throw new WebverifyError('INVALID_INPUT', 'similarity expects two embeddings (Float32Array)');
  }
  if (a.length !== b.length || a.length === 0) {
    throw new WebverifyError('INVALID_INPUT', `embeddings of lengths ${a.length} and ${b.length} cannot be compared`);
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (!Number.isFinite(dot) || !Number.isFinite(na) || !Number.isFinite(nb)) {
    throw new WebverifyError('INVALID_INPUT', 'an embedding holds NaN or infinity');
  }
  if (na === 0 || nb === 0) throw new WebverifyError('INVALID_INPUT', 'an embedding is all zeros');
  return Math.fround(Math.min(1, Math.max(-1, dot / (Math.sqrt(na) * Math.sqrt(nb)))));
}

export class Verifier {
  /** @internal Use `Verifier.create()`. */
  constructor(transport) {
    bindTransport(this, transport);
  }

  /** The backend in use, and for `auto` why or the measured times, e.g. `flex (navigator.gpu
   * is missing)`; after a lost GPU, `flex (moved from WebGPU: …)`. As the engine last reported
   * it: `auto`'s move to WebGPU shows after the next call, or with `backendChosen()`. */
  get backend() {
    return transportOf(this).info.backend;
  }

  /** Where the engine runs: `worker` (a module worker, the default on a page) or `inline`
   * (this thread: asked for with `worker: false`, in Node.js, or where the browser lacks what
   * the worker needs). */
  get mode() {
    return transportOf(this).mode;
  }

  /** The WebAssembly build running the engine: `relaxed-simd` or `simd`. */
  get wasmBuild() {
    return transportOf(this).info.wasmBuild;
  }

  /** The engine module in use: `cpu`, `gpu` or `full` (loading.js). */
  get wasmModule() {
    return transportOf(this).info.wasmModule;
  }

  /** The test-time augmentation of every embedding (`tta` of `create`): `flip` or `none`. */
  get tta() {
    return transportOf(this).info.tta;
  }

  /** `{ id, name, sha256, embeddingDim, inputSize, formatVersion, tuned, calibrationInherited }`. */
  get model() {
    return transportOf(this).info.model;
  }

  /**
   * Loads the wasm module and the weights and starts a backend. On a web page the engine runs
   * in a dedicated module worker by default (`worker: false` runs it on the calling thread);
   * the API is the same either way.
   * `onProgress({ stage: 'wasm'|'model'|'detector'|'mesh'|'backend', loaded, total, ms })` reports
   * the download (bytes; total known for the package's own files, else 0 when the server does not
   * say) and the backend start.
   * `alignment: 'mesh'` also loads MediaPipe Face Mesh (1.1 MB gzip, `meshUrl` overrides it):
   * faces are aligned on five mesh points, and `landmarks()` works. The default, `'detector'`,
   * aligns on the detector's four points. `tta: 'flip'` (the default) embeds each face and its
   * mirror image and sums them: 99.45 % instead of 99.27 % on LFW View 1 DevTrain for one more
   * network pass per face; `tta: 'none'` embeds the face alone. It applies to every call
   * (verify, embed, enroll, identify), and scores use the calibration the weights carry for it.
   * Relative URLs are the page's (resolved against
   * `document.baseURI` in both modes).
   */
  static async create(given) {
    const { worker: asked, onProgress, signal, ...opts } = options(given, 'Verifier.create');
    if (asked !== undefined && typeof asked !== 'boolean') {
      throw new WebverifyError('INVALID_INPUT', `worker must be true or false, not ${asked}`);
    }
    // Before any download: without WebAssembly SIMD nothing can run.
    requireWasm();
    // Worker mode by default where the browser has what it needs (support.js), else inline; a
    // worker asked for explicitly and impossible here is an error naming what is missing.
    const missing = asked === false ? null : workerMissing();
    if (asked === true && missing) {
      throw new WebverifyError('BACKEND_UNAVAILABLE', `worker mode cannot run in this browser: ${missing}; leave \`worker\` out to run inline where workers cannot`);
    }
    const worker = asked ?? !missing;
    if (opts.timeoutMs !== undefined && !(Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0)) {
      throw new WebverifyError('INVALID_INPUT', `timeoutMs must be a positive number of milliseconds, not ${opts.timeoutMs}`);
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new WebverifyError('INVALID_INPUT', 'signal must be an AbortSignal');
    }
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      throw new WebverifyError('INVALID_INPUT', 'onProgress must be a function');
    }
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'Verifier.create was aborted');
    const resolved = pageUrls(opts);
    if (!worker) {
      const transport = new InlineTransport();
      // Inline, the signal reaches the downloads themselves.
      await transport.start({ ...resolved, signal }, onProgress);
      return new Verifier(transport);
    }
    checkPostable(resolved, 'the options of Verifier.create');
    const transport = new WorkerTransport(resolved.assetsUrl);
    // A signal cannot cross to the worker: aborting ends the worker, and with it the downloads.
    let abort;
    const aborted = new Promise((_, reject) => {
      abort = () => reject(new WebverifyError('ABORTED', 'Verifier.create was aborted'));
      signal?.addEventListener('abort', abort, { once: true });
    });
    try {
      await Promise.race([transport.start(resolved, onProgress), aborted]);
      return new Verifier(transport);
    } catch (e) {
      transport.dispose();
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Cosine similarity of two embeddings (plain JavaScript: nothing is loaded for it). */
  static async similarity(a, b) {
    return cosine(a, b);
  }

  /**
   * Challenge liveness on a playing `<video>` (the camera): the person is asked for motions —
   * `steps` (an array of 'blink', 'turnLeft', 'turnRight', 'lookUp') or `count` (default 3)
   * different ones in a random order — each within `stepMs` (default 5000, the neutral pose
   * first); every frame (one each `intervalMs`, default 80, or as fast as the engine goes) is
   * checked on the face mesh and scored by the passive model. The loop runs on the page (a
   * worker cannot read a `<video>`), each frame one engine call.
   */
  async challenge(video, opts) {
    const transport = transportOf(this);
    const { _challengeStart: start, _challengeFrame: frame } = VERIFIER_METHODS;
    return runChallenge({
      start: (o) => transport.verifier('_challengeStart', [o], start.args),
      frame: (state, image, tMs) => transport.verifier('_challengeFrame', [state, image, tMs], frame.args),
    }, video, opts);
  }

  /**
   * Fine-tunes the embedder on this device (see FineTuneOptions in index.d.ts); from then on the
   * verifier embeds with the tuned model; galleries made before need `gallery.migrate()`.
   * `onProgress({ step, steps, loss, ms })` after every step, `onLoad` while the training module
   * downloads; aborting `signal` stops the run (ABORTED, model unchanged).
   */
  async fineTune(opts) {
    const { images, onProgress, onLoad, signal, ...recipe } = options(opts, 'fineTune');
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new WebverifyError('INVALID_INPUT', 'signal must be an AbortSignal');
    }
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'fine-tuning was cancelled before it started');
    const transport = transportOf(this);
    if (transport.mode === 'worker') checkPostable(recipe, 'the options of fineTune');
    return transport.fineTune(images, recipe, { onProgress, onLoad, signal });
  }

  /** An empty gallery for enrollment and 1:N identification with this model. */
  createGallery() {
    const transport = transportOf(this);
    return new Gallery(this, transport.createGallery(), transport.generation);
  }

  /** Releases the engine (and its worker); later calls fail with DISPOSED. */
  dispose() {
    transportOf(this).dispose();
  }
}

// The engine's methods, one per entry of the protocol table (the `_`-named halves of
// `challenge` stay internal).
for (const [name, { args: kinds }] of Object.entries(VERIFIER_METHODS)) {
  if (name.startsWith('_')) continue;
  Object.defineProperty(Verifier.prototype, name, {
    value: async function (...args) {
      return transportOf(this).verifier(name, args.slice(0, kinds.length), kinds);
    },
    writable: true,
    configurable: true,
  });
}

// Every public method rejects only with WebverifyError.
guardMethods(Verifier.prototype, [...Object.keys(VERIFIER_METHODS).filter((m) => !m.startsWith('_')), 'challenge', 'fineTune']);
guardMethods(Verifier, ['create', 'similarity']);

export default Verifier;
