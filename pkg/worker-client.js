// The page's side of worker mode: the same API as the inline Verifier and Gallery, with every
// call posted to a module worker (worker.js) that owns the engine. The methods are made from
// the table in protocol.js; image sources cross as transferred ImageBitmaps (input.js); errors
// keep their `code` across the boundary. When the engine in the worker traps (or the worker
// dies), the calls in flight fail with INTERNAL and a new worker starts with the same options,
// model, tuned weights and calibration; the calls made meanwhile wait for it.
import { runChallenge } from './challenge.js';
import { WebverifyError } from './errors.js';
import { checkPostable, options as optionsOf, postArgument } from './input.js';
import { GALLERY_METHODS, VERIFIER_METHODS } from './protocol.js';

const newWorker = () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'webverify' });

class Channel {
  #worker;
  #next = 1;
  #pending = new Map();
  #closed = false;
  /** What calls get once the channel is closed: DISPOSED, or the crash. */
  #closedError = new WebverifyError('DISPOSED', 'this Verifier was disposed');
  /** Progress listeners of long jobs (start-up, fine-tuning), by job number. */
  progress = new Map();
  /** Called once when the worker's engine trapped or the worker died: `(error)`. */
  onCrash = null;
  /** Called with the `state` (model and calibration) a reply carries. */
  onState = null;
  /** Called with the backend an error reply carries (it changes when a lost GPU moved the
   * engine to the CPU). */
  onBackend = null;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const { id, result, error, progress, value } = data;
      if (progress !== undefined) {
        this.progress.get(progress)?.(value);
        return;
      }
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      if (error?.trapped) {
        p?.reject(new WebverifyError(error.code, error.message));
        this.#crash(new WebverifyError('INTERNAL', error.message));
      } else if (error) {
        if (error.backend) this.onBackend?.(error.backend);
        p?.reject(new WebverifyError(error.code, error.message));
      } else {
        if ('state' in data) this.onState?.(data.state);
        p?.resolve(result);
      }
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      this.#crash(new WebverifyError('BACKEND_UNAVAILABLE', `the webverify worker failed: ${e.message ?? 'load error'}`));
    };
  }

  /** Fails every call in flight with `err` and ends the worker; the owner restarts one. */
  #crash(err) {
    if (this.#closed) return;
    this.#closed = true;
    this.#closedError = err;
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.onCrash?.(err);
  }

  call(target, args, transfer = []) {
    if (this.#closed) return Promise.reject(this.#closedError);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      try {
        this.#worker.postMessage({ id, target, args }, transfer);
      } catch (e) {
        // What structured cloning refuses (checkPostable catches the common cases first).
        reject(new WebverifyError('INVALID_INPUT', `the arguments cannot be passed to the worker: ${e.message}`, { cause: e }));
        return;
      }
      this.#pending.set(id, { resolve, reject });
    });
  }

  terminate() {
    this.#closed = true;
    this.#closedError = new WebverifyError('DISPOSED', 'this Verifier was disposed');
    this.#worker.terminate();
    const err = new WebverifyError('DISPOSED', 'this Verifier was disposed');
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/** The arguments of a table method, posted as its entry says. */
async function postArguments(kinds, args, method = 'the call') {
  checkPostable(args, `the arguments of ${method}`);
  const transfer = [];
  const posted = await Promise.all(args.map((value, i) => postArgument(kinds[i] ?? 'value', value, transfer, args)));
  return { posted, transfer };
}

/** Defines each method of `table` on `proto` as a call through `send(name, args, transfer)`. */
function remoteMethods(proto, table, send) {
  for (const [name, { args: kinds, model }] of Object.entries(table)) {
    Object.defineProperty(proto, name, {
      value: async function (...args) {
        const { posted, transfer } = await postArguments(kinds, args.slice(0, kinds.length), name);
        const result = await send(this, name, posted, transfer);
        if (model) this.model = result;
        return result;
      },
      writable: true,
      configurable: true,
    });
  }
}

let nextGallery = 1;
let nextJob = 1;

export class WorkerGallery {
  #verifier;
  #handle;
  /** The worker it lives in (its creation), or its failure; a restart loses it. */
  #made;

  constructor(verifier, handle, made) {
    this.#verifier = verifier;
    this.#handle = handle;
    this.#made = made;
  }

  /** @internal For the methods made from the table. */
  async _send(name, args, transfer) {
    const channel = await this.#made;
    if (channel !== this.#verifier._channelNow()) {
      throw new WebverifyError('INTERNAL', 'this Gallery was lost when the engine restarted after a crash; load it again from its saved bytes (Gallery.fromBytes, Gallery.load)');
    }
    return channel.call('gallery', [this.#handle, name, args], transfer);
  }

  async save(store) { await store.write(await this.toBytes()); }
  dispose() { this.#made.then((channel) => channel.call('galleryDispose', [this.#handle])).catch(() => {}); }
}

remoteMethods(WorkerGallery.prototype, GALLERY_METHODS, (g, name, args, transfer) => g._send(name, args, transfer));

export class WorkerVerifier {
  #channel;
  /** A restart in progress after a crash (calls wait for it), or null. */
  #restarting = null;
  /** Why the last restart failed: later calls get it. */
  #broken = null;
  #disposed = false;
  /** What a restart needs: the options of `create` with the backend that was chosen, and the
   * model and calibration state the worker last reported. */
  #options;
  #state = null;

  constructor(channel, { backend, model, wasmBuild, wasmModule, engine }, options) {
    /** The backend in use (in the worker), and for `auto` why. */
    this.backend = backend;
    /** The WebAssembly build the worker runs. */
    this.wasmBuild = wasmBuild;
    /** The engine module the worker runs: `cpu` or `full`. */
    this.wasmModule = wasmModule;
    this.model = model;
    // `auto` is not measured again: the restarted worker runs what this one chose.
    this.#options = { ...options, backend: engine, wasmBuild };
    this.#adopt(channel);
  }

  #adopt(channel) {
    this.#channel = channel;
    channel.onState = (state) => { this.#state = state; };
    channel.onBackend = (backend) => {
      this.backend = backend;
      // A lost GPU moved the engine to the CPU: a restart stays there.
      if (backend.startsWith('flex')) this.#options.backend = 'flex';
    };
    channel.onCrash = () => this.#restart();
  }

  static async create({ onProgress, signal, ...options }) {
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'Verifier.create was aborted');
    // URL objects cannot be posted; bytes can.
    const plain = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, v instanceof URL ? v.href : v]));
    checkPostable(plain, 'the options of Verifier.create');
    const channel = new Channel(newWorker());
    const job = nextJob++;
    channel.progress.set(job, (p) => onProgress?.(p));
    // A signal cannot cross to the worker: aborting ends the worker, and with it the downloads.
    let abort;
    const aborted = new Promise((_, reject) => {
      abort = () => reject(new WebverifyError('ABORTED', 'Verifier.create was aborted'));
      signal?.addEventListener('abort', abort, { once: true });
    });
    try {
      return new WorkerVerifier(channel, await Promise.race([channel.call('create', [plain, job]), aborted]), plain);
    } catch (e) {
      channel.terminate();
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
      channel.progress.delete(job);
    }
  }

  /** A new worker with the same options, model, tuned weights and calibration. */
  #restart() {
    if (this.#disposed) return;
    this.#restarting = (async () => {
      const channel = new Channel(newWorker());
      try {
        const started = await channel.call('create', [this.#options, nextJob++]);
        this.model = started.model;
        this.wasmModule = started.wasmModule;
        if (this.#state) this.model = await channel.call('restore', [this.#state]);
      } catch (e) {
        channel.terminate();
        throw e;
      }
      if (this.#disposed) {
        channel.terminate();
        return;
      }
      this.#adopt(channel);
    })().then(() => { this.#broken = null; }, (e) => {
      this.#broken = new WebverifyError('BACKEND_UNAVAILABLE', `the engine crashed and could not be restarted: ${e.message}`, { cause: e });
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

  /** @internal The current worker's channel (for WorkerGallery: a gallery of an older one was lost). */
  _channelNow() {
    return this.#channel;
  }

  /** @internal For the methods made from the table. */
  async _send(name, args, transfer) {
    return (await this.#ready()).call('verifier', [name, args], transfer);
  }

  /** Challenge liveness: the loop runs here, on the page; each frame goes to the worker. */
  async challenge(video, opts) {
    return runChallenge(this, video, opts);
  }

  async fineTune(opts) {
    const { images, onProgress, onLoad, signal, ...options } = optionsOf(opts, 'fineTune');
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'fine-tuning was cancelled before it started');
    checkPostable(options, 'the options of fineTune');
    const { posted: [posted], transfer } = await postArguments(['images'], [images], 'fineTune');
    const channel = await this.#ready();
    const job = nextJob++;
    const cancel = () => channel.call('cancel', [job]).catch(() => {});
    channel.progress.set(job, (p) => (p.load ? onLoad?.(p.load) : onProgress?.(p)));
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      const result = await channel.call('fineTune', [posted, options, job], transfer);
      this.model = result.model;
      return result;
    } finally {
      channel.progress.delete(job);
      signal?.removeEventListener('abort', cancel);
    }
  }

  createGallery() {
    const handle = nextGallery++;
    // Messages are handled in order, so calls on the gallery wait for its creation.
    const made = this.#ready().then((channel) => {
      channel.call('galleryCreate', [handle]).catch(() => {});
      return channel;
    });
    made.catch(() => {});
    return new WorkerGallery(this, handle, made);
  }

  /** @internal For Gallery.fromBytes. */
  async _galleryFromBytes(bytes, key) {
    const handle = nextGallery++;
    const channel = await this.#ready();
    await channel.call('galleryFromBytes', [handle, bytes, key]);
    return new WorkerGallery(this, handle, Promise.resolve(channel));
  }

  dispose() {
    // The worker frees the engine when it ends; later calls are rejected.
    this.#disposed = true;
    this.#broken = null;
    this.#channel.terminate();
  }
}

remoteMethods(WorkerVerifier.prototype, VERIFIER_METHODS, (v, name, args, transfer) => v._send(name, args, transfer));
