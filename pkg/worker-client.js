// The page's side of worker mode: the same API as the inline Verifier and Gallery, with every
// call posted to a module worker (worker.js) that owns the engine. The methods are made from
// the table in protocol.js; image sources cross as transferred ImageBitmaps (input.js); errors
// keep their `code` across the boundary.
import { WebverifyError } from './errors.js';
import { checkPostable, options as optionsOf, postArgument } from './input.js';
import { GALLERY_METHODS, VERIFIER_METHODS } from './protocol.js';

class Channel {
  #worker;
  #next = 1;
  #pending = new Map();
  #closed = false;
  /** Progress listeners of long jobs (start-up, fine-tuning), by job number. */
  progress = new Map();

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data: { id, result, error, progress, value } }) => {
      if (progress !== undefined) {
        this.progress.get(progress)?.(value);
        return;
      }
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      if (error) p?.reject(new WebverifyError(error.code, error.message));
      else p?.resolve(result);
    };
    worker.onerror = (e) => {
      const err = new WebverifyError('BACKEND_UNAVAILABLE', `the webverify worker failed: ${e.message ?? 'load error'}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
  }

  call(target, args, transfer = []) {
    if (this.#closed) return Promise.reject(new WebverifyError('DISPOSED', 'this Verifier was disposed'));
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
  const posted = await Promise.all(args.map((value, i) => postArgument(kinds[i] ?? 'value', value, transfer)));
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
  #channel;
  #handle;

  constructor(channel, handle) {
    this.#channel = channel;
    this.#handle = handle;
  }

  /** @internal For the methods made from the table. */
  _send(name, args, transfer) {
    return this.#channel.call('gallery', [this.#handle, name, args], transfer);
  }

  async save(store) { await store.write(await this.toBytes()); }
  dispose() { this.#channel.call('galleryDispose', [this.#handle]).catch(() => {}); }
}

remoteMethods(WorkerGallery.prototype, GALLERY_METHODS, (g, name, args, transfer) => g._send(name, args, transfer));

export class WorkerVerifier {
  #channel;

  constructor(channel, { backend, model, wasmBuild }) {
    this.#channel = channel;
    /** The backend in use (in the worker), and for `auto` why. */
    this.backend = backend;
    /** The WebAssembly build the worker runs. */
    this.wasmBuild = wasmBuild;
    this.model = model;
  }

  static async create({ onProgress, signal, ...options }) {
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'Verifier.create was aborted');
    // URL objects cannot be posted; bytes can.
    const plain = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, v instanceof URL ? v.href : v]));
    checkPostable(plain, 'the options of Verifier.create');
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'webverify' });
    const channel = new Channel(worker);
    const job = nextJob++;
    channel.progress.set(job, (p) => onProgress?.(p));
    // A signal cannot cross to the worker: aborting ends the worker, and with it the downloads.
    let abort;
    const aborted = new Promise((_, reject) => {
      abort = () => reject(new WebverifyError('ABORTED', 'Verifier.create was aborted'));
      signal?.addEventListener('abort', abort, { once: true });
    });
    try {
      return new WorkerVerifier(channel, await Promise.race([channel.call('create', [plain, job]), aborted]));
    } catch (e) {
      channel.terminate();
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
      channel.progress.delete(job);
    }
  }

  /** @internal For the methods made from the table. */
  _send(name, args, transfer) {
    return this.#channel.call('verifier', [name, args], transfer);
  }

  async fineTune(opts) {
    const { images, onProgress, signal, ...options } = optionsOf(opts, 'fineTune');
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'fine-tuning was cancelled before it started');
    checkPostable(options, 'the options of fineTune');
    const { posted: [posted], transfer } = await postArguments(['images'], [images], 'fineTune');
    const job = nextJob++;
    const cancel = () => this.#channel.call('cancel', [job]).catch(() => {});
    this.#channel.progress.set(job, (p) => onProgress?.(p));
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      const result = await this.#channel.call('fineTune', [posted, options, job], transfer);
      this.model = result.model;
      return result;
    } finally {
      this.#channel.progress.delete(job);
      signal?.removeEventListener('abort', cancel);
    }
  }

  createGallery() {
    const handle = nextGallery++;
    // Messages are handled in order, so calls on the gallery wait for its creation.
    this.#channel.call('galleryCreate', [handle]).catch(() => {});
    return new WorkerGallery(this.#channel, handle);
  }

  /** @internal For Gallery.fromBytes. */
  async _galleryFromBytes(bytes, key) {
    const handle = nextGallery++;
    await this.#channel.call('galleryFromBytes', [handle, bytes, key]);
    return new WorkerGallery(this.#channel, handle);
  }

  dispose() {
    // The worker frees the engine when it ends; later calls are rejected.
    this.#channel.terminate();
  }
}

remoteMethods(WorkerVerifier.prototype, VERIFIER_METHODS, (v, name, args, transfer) => v._send(name, args, transfer));
