// How a Verifier reaches its host (host.js): on this thread (inline mode) or in a module worker
// (the default on a page). Both transports take the same requests and keep the same state on
// the page side (backend, model, the tuned weights and calibration for a restart), so the
// public Verifier and Gallery (index.js, gallery.js) are one class each whatever the mode.
//
// Recovery: a trap of the wasm instance is recovered by the host itself in both modes (the
// calls in flight fail with INTERNAL, the next call rebuilds the engine: recovery.js,
// engine-host.js). Only a worker that dies outright (its thread killed, or its script failing
// to load) is restarted here, with the same options, model, tuned weights and calibration.
import { assetsBase } from './assets.js';
import { WebverifyError } from './errors.js';
import { checkPostable, postArgument } from './input.js';

/** The options that name files: resolved against the page before they cross to a worker,
 * whose own URL would otherwise be their base (a page's './models/m.safetensors' must not
 * become the package folder's). */
const URL_OPTIONS = ['assetsUrl', 'modelUrl', 'detectorUrl', 'meshUrl', 'wasmUrl', 'livenessUrl'];

/** `options` with URL objects as text and relative URLs resolved against the page (also the
 * two builds' URLs in `training`, webverify-training's export). */
export function pageUrls(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) return options;
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  /** A URL option's value as text, relative ones resolved against the page. */
  const onPage = (v) => {
    if (v instanceof URL) return v.href;
    return typeof v === 'string' && base ? new URL(v, base).href : v;
  };
  return Object.fromEntries(Object.entries(options).map(([k, v]) => {
    if (k === 'training' && v !== null && typeof v === 'object') {
      return [k, { ...v, simd: onPage(v.simd), 'relaxed-simd': onPage(v['relaxed-simd']) }];
    }
    if (URL_OPTIONS.includes(k)) return [k, onPage(v)];
    return [k, v instanceof URL ? v.href : v];
  }));
}

let nextJob = 1;
let nextGallery = 1;

/** `args` with the `signal` taken out of its options (the last argument, when the table says
 * it is a value and it is a plain object holding one), and that signal. A signal cannot cross
 * to a worker, and the host never needs it: the waiting is the page's. */
function takeSignal(args, kinds) {
  const i = kinds.length - 1;
  const last = args[i];
  if (kinds[i] !== 'value' || last === null || typeof last !== 'object' || Array.isArray(last) || !('signal' in last)) return { args, signal: undefined };
  const { signal, ...rest } = last;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new WebverifyError('INVALID_INPUT', 'signal must be an AbortSignal');
  }
  const copy = [...args];
  copy[i] = rest;
  return { args: copy, signal };
}

/** `run()`, or ABORTED as soon as `signal` aborts (before it starts, or while it runs: the host
 * finishes the call it is in, and its answer is dropped; the verifier keeps working). */
async function abortable(signal, method, run) {
  if (!signal) return run();
  const aborted = () => new WebverifyError('ABORTED', `${method} was aborted`);
  if (signal.aborted) throw aborted();
  let onAbort;
  const stop = new Promise((_, reject) => {
    onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([run(), stop]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** What both transports share: the page's view of the engine, galleries by handle, jobs. */
class Transport {
  /** `{ backend, model, wasmBuild, wasmModule, engine }` as the host last said. */
  info = null;
  /** The tuned weights and calibration the host last reported (for a restart). */
  state = null;
  /** Bumped by a restart (a worker that died): galleries made before it were lost. */
  generation = 0;

  /** Keeps the backend the host reports, and `engine`, the one a restart asks for (a lost GPU
   * moves the engine to the CPU, `auto` to WebGPU: a restart then starts there too). */
  noteBackend(backend, engine) {
    if (backend === undefined || !this.info) return;
    this.info.backend = backend;
    if (engine && this.options) this.options.backend = engine;
  }

  /** Keeps what a reply says of the engine. */
  seen(reply) {
    this.noteBackend(reply.backend, reply.engine);
    if (reply.model !== undefined) this.info.model = reply.model;
    if ('state' in reply) this.state = reply.state;
    return reply.result;
  }

  /** Starts the host: `{ backend, model, wasmBuild, wasmModule, engine }`. */
  async start(options, onProgress) {
    const job = nextJob++;
    const { result } = await this.send('create', [options], { job, progress: onProgress });
    this.options = { ...options, backend: result.engine, wasmBuild: result.wasmBuild };
    this.info = result;
    return result;
  }

  /** A Verifier method of the protocol table; `signal` in its options aborts the wait. */
  async verifier(name, args, kinds) {
    const { args: plain, signal } = takeSignal(args, kinds);
    return abortable(signal, name, async () => {
      const { posted, transfer } = await this.arguments(kinds, plain, name, signal);
      return this.seen(await this.send('verifier', [name, posted], { transfer }));
    });
  }

  async gallery(handle, generation, name, args, kinds) {
    if (generation !== this.generation) {
      throw new WebverifyError('INTERNAL', 'this Gallery was lost when the engine restarted after a crash; load it again from its saved bytes (Gallery.fromBytes, Gallery.load)');
    }
    const { args: plain, signal } = takeSignal(args, kinds);
    return abortable(signal, name, async () => {
      const { posted, transfer } = await this.arguments(kinds, plain, name, signal);
      return this.seen(await this.send('gallery', [handle, name, posted], { transfer }));
    });
  }

  /** A new empty gallery in the host: its handle (requests are handled in order, so calls on
   * the gallery wait for its creation). */
  createGallery() {
    const handle = nextGallery++;
    this.send('galleryCreate', [handle], {}).catch(() => {});
    return handle;
  }

  async galleryFromBytes(bytes, key) {
    const handle = nextGallery++;
    await this.send('galleryFromBytes', [handle, bytes, key], {});
    return handle;
  }

  galleryDispose(handle, generation) {
    if (generation === this.generation) this.send('galleryDispose', [handle], {}).catch(() => {});
  }

  async fineTune(images, options, { onProgress, onLoad, signal }) {
    const { posted: [posted], transfer } = await this.arguments(['images'], [images], 'fineTune');
    const job = nextJob++;
    const progress = (p) => (p?.load ? onLoad?.(p.load) : onProgress?.(p));
    const cancel = () => this.send('cancel', [job], {}).catch(() => {});
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      return this.seen(await this.send('fineTune', [posted, options, job], { job, progress, transfer }));
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }
}

/** The host on this thread: requests are plain calls. The host's code (and the wasm glue
 * behind it) is imported on first use, so that a page in worker mode never loads it. */
export class InlineTransport extends Transport {
  mode = 'inline';
  #host = import('./host.js').then(({ Host }) => new Host());
  #disposed = false;

  async arguments(kinds, args) {
    return { posted: args, transfer: [] };
  }

  async send(target, args, { progress }) {
    if (this.#disposed) throw new WebverifyError('DISPOSED', 'this Verifier was disposed');
    try {
      return await (await this.#host).call(target, args, progress);
    } catch (e) {
      this.noteBackend(e.backend, e.engine);
      throw e;
    }
  }

  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#host.then((host) => host.call('dispose', [])).catch(() => {});
  }
}

/** The worker's module: the package's own `worker.js`, or the one under `assetsUrl`. */
const workerModule = (assets) => (assets ? new URL('worker.js', assets).href : import.meta.url.replace(/[^/?#]*([?#].*)?$/, 'worker.js'));

/** Whether the worker's module is on another origin than the page (a CDN): a worker script must
 * be same-origin, so the worker is then a same-origin blob that imports that module (which the
 * other origin must serve with CORS, as it serves the rest). */
const crossOrigin = (assets) => {
  if (typeof location === 'undefined') return false;
  const url = new URL(workerModule(assets));
  // webpack replaces import.meta.url with the source's file: URL at build time: a bundle, which
  // is served with the page.
  return /^https?:$/.test(url.protocol) && url.origin !== location.origin;
};

function newWorker(assets) {
  if (crossOrigin(assets)) {
    // workerModule does not use `new URL('./worker.js', …)`: bundlers rewrite that pattern, and a
    // bundled package is never cross-origin.
    const blob = URL.createObjectURL(new Blob([`import ${JSON.stringify(workerModule(assets))};\n`], { type: 'text/javascript' }));
    try {
      return new Worker(blob, { type: 'module', name: 'webverify' });
    } finally {
      // The worker has fetched its script by the time it runs; the URL is not needed after.
      setTimeout(() => URL.revokeObjectURL(blob), 60_000);
    }
  }
  if (assets) return new Worker(workerModule(assets), { type: 'module', name: 'webverify' });
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'webverify' });
}

/** What a worker that failed to start most likely lacked, for its error message. */
function workerHint(assets) {
  // Vite's dev server pre-bundles dependencies into node_modules/.vite/deps, away from the
  // package's worker.js, wasm/ and models/ (a production build is not affected).
  if (!assets && /\/\.vite[^/]*\/deps[^/]*\//.test(import.meta.url)) {
    return "; Vite's dev server pre-bundled the package away from its files: add optimizeDeps: { exclude: ['webverify'] } to vite.config.js";
  }
  return crossOrigin(assets)
    ? `; its module comes from ${new URL(workerModule(assets)).origin}: that server must send Access-Control-Allow-Origin for the package's files, and a Content-Security-Policy must allow blob: in worker-src`
    : '';
}

/** One worker and the calls in flight to it. */
class Channel {
  #worker;
  #next = 1;
  #pending = new Map();
  #closed = false;
  /** What calls get once the channel is closed: DISPOSED, or the worker's death. */
  #closedError = new WebverifyError('DISPOSED', 'this Verifier was disposed');
  /** Progress listeners of long jobs (start-up, fine-tuning), by job number. */
  progress = new Map();
  /** Called once when the worker died: `(error)`. */
  onDeath = null;

  /** `assets`: the `assetsUrl` folder the worker came from (for its error message). */
  constructor(worker, assets) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const { id, reply, error, progress, value } = data;
      if (progress !== undefined) {
        this.progress.get(progress)?.(value);
        return;
      }
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      if (error) {
        const err = new WebverifyError(error.code, error.message);
        err.backend = error.backend;
        err.engine = error.engine;
        p?.reject(err);
      } else {
        p?.resolve(reply);
      }
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      this.#close(new WebverifyError('BACKEND_UNAVAILABLE', `the webverify worker failed: ${e.message || 'its module did not load'}${workerHint(assets)}`));
    };
  }

  #close(err, death = true) {
    if (this.#closed) return;
    this.#closed = true;
    this.#closedError = err;
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    if (death) this.onDeath?.(err);
  }

  call(target, args, transfer = [], job) {
    if (this.#closed) return Promise.reject(this.#closedError);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      try {
        this.#worker.postMessage({ id, target, args, job }, transfer);
      } catch (e) {
        // What structured cloning refuses (checkPostable catches the common cases first).
        reject(new WebverifyError('INVALID_INPUT', `the arguments cannot be passed to the worker: ${e.message}`, { cause: e }));
        return;
      }
      this.#pending.set(id, { resolve, reject });
    });
  }

  terminate() {
    this.#close(new WebverifyError('DISPOSED', 'this Verifier was disposed'), false);
  }
}

/** The host in a module worker: requests are messages; images cross as transferred
 * ImageBitmaps (input.js), errors keep their `code`. */
export class WorkerTransport extends Transport {
  mode = 'worker';
  /** The `assetsUrl` folder (assets.js) the worker comes from, or undefined: the package's. */
  #assets;
  #channel;
  /** A restart in progress after the worker died (calls wait for it), or null. */
  #restarting = null;
  /** Why the last restart failed: later calls get it. */
  #broken = null;
  #disposed = false;

  constructor(assetsUrl) {
    super();
    this.#assets = assetsBase(assetsUrl);
    this.#channel = new Channel(newWorker(this.#assets), this.#assets);
    this.#channel.onDeath = () => this.#restart();
  }

  /** The arguments of a table method, posted as its kinds say; option objects with their URLs
   * resolved against the page; `signal` stops the sampling of a video. */
  async arguments(kinds, args, method = 'the call', signal) {
    checkPostable(args, `the arguments of ${method}`);
    const transfer = [];
    const posted = await Promise.all(args.map((value, i) => {
      const kind = kinds[i] ?? 'value';
      return kind === 'value' ? pageUrls(value) : postArgument(kind, value, transfer, args, signal);
    }));
    return { posted, transfer };
  }

  async send(target, args, { job, progress, transfer = [] }) {
    if (target === 'create') {
      checkPostable(args, 'the options of Verifier.create');
      return this.#call(this.#channel, target, args, transfer, job, progress);
    }
    const channel = await this.#ready();
    return this.#call(channel, target, args, transfer, job, progress);
  }

  async #call(channel, target, args, transfer, job, progress) {
    if (job !== undefined && progress) channel.progress.set(job, progress);
    try {
      return await channel.call(target, args, transfer, job);
    } catch (e) {
      this.noteBackend(e.backend, e.engine);
      throw e;
    } finally {
      // `create`'s listener stays: later calls report the files they download to it.
      if (job !== undefined && target !== 'create') channel.progress.delete(job);
    }
  }

  /** A new worker with the same options, model, tuned weights and calibration. */
  #restart() {
    if (this.#disposed || !this.info) return;
    this.#restarting = (async () => {
      const channel = new Channel(newWorker(this.#assets), this.#assets);
      try {
        const { result } = await channel.call('create', [this.options], [], nextJob++);
        this.info.model = result.model;
        this.info.wasmModule = result.wasmModule;
        if (this.state) this.info.model = (await channel.call('restore', [this.state])).result;
      } catch (e) {
        channel.terminate();
        throw e;
      }
      if (this.#disposed) {
        channel.terminate();
        return;
      }
      channel.onDeath = () => this.#restart();
      this.#channel = channel;
      this.generation += 1;
    })().then(() => { this.#broken = null; }, (e) => {
      this.#broken = new WebverifyError('BACKEND_UNAVAILABLE', `the engine's worker died and could not be restarted: ${e.message}`, { cause: e });
    }).finally(() => { this.#restarting = null; });
  }

  /** The worker's channel once any restart is over (its failure rejects). */
  async #ready() {
    if (this.#restarting) await this.#restarting;
    if (this.#broken && !this.#disposed) {
      // One more try per call: the failure may have been passing (a download).
      this.#restart();
      await this.#restarting;
      if (this.#broken) throw this.#broken;
    }
    return this.#channel;
  }

  dispose() {
    // The worker frees the engine when it ends; later calls are rejected.
    this.#disposed = true;
    this.#broken = null;
    this.#channel.terminate();
  }
}
