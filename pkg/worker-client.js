// The page's side of worker mode: the same API as the inline Verifier and Gallery, with every
// call posted to a module worker (worker.js) that owns the engine. Image sources are turned into
// ImageBitmaps and transferred; errors keep their `code` across the boundary.
import { WebverifyError } from './errors.js';

const DRAWABLE = ['HTMLImageElement', 'HTMLCanvasElement', 'HTMLVideoElement', 'OffscreenCanvas', 'VideoFrame', 'ImageBitmap'];

/** `input` ready to post: DOM sources become a transferred ImageBitmap; ImageData and pixel
 * objects are copied by structured cloning (transferring would detach the caller's buffer). */
async function postable(input, transfer) {
  if (input instanceof Float32Array) return input;
  if (DRAWABLE.some((n) => typeof globalThis[n] !== 'undefined' && input instanceof globalThis[n])) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(input);
    } catch (e) {
      throw new WebverifyError('INVALID_INPUT', `cannot read pixels from the ${input.constructor.name}: ${e.message} (video: wait for 'loadeddata')`, { cause: e });
    }
    transfer.push(bitmap);
    return bitmap;
  }
  return input;
}

class Channel {
  #worker;
  #next = 1;
  #pending = new Map();
  #closed = false;
  /** Progress listeners of fine-tuning jobs, by job number. */
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
    if (this.#closed) return Promise.reject(new WebverifyError('INVALID_INPUT', 'this Verifier was disposed'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, target, args }, transfer);
    });
  }

  terminate() {
    this.#closed = true;
    this.#worker.terminate();
    const err = new WebverifyError('INVALID_INPUT', 'this Verifier was disposed');
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
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

  #call(method, args = [], transfer = []) {
    return this.#channel.call('gallery', [this.#handle, method, args], transfer);
  }

  async enroll(id, inputs, options) {
    const transfer = [];
    const posted = Array.isArray(inputs) ? await Promise.all(inputs.map((x) => postable(x, transfer))) : inputs;
    return this.#call('enroll', [id, posted, options], transfer);
  }

  async identify(input, options) {
    const transfer = [];
    return this.#call('identify', [await postable(input, transfer), options], transfer);
  }

  migrate() { return this.#call('migrate'); }
  remove(id) { return this.#call('remove', [id]); }
  list() { return this.#call('list'); }
  size() { return this.#call('size'); }
  templateCount() { return this.#call('templateCount'); }
  toBytes() { return this.#call('toBytes'); }
  async save(store) { await store.write(await this.toBytes()); }
  dispose() { this.#channel.call('galleryDispose', [this.#handle]).catch(() => {}); }
}

export class WorkerVerifier {
  #channel;

  constructor(channel, { backend, model }) {
    this.#channel = channel;
    /** The backend in use (in the worker), and for `auto` why. */
    this.backend = backend;
    this.model = model;
  }

  static async create({ onProgress, ...options }) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'webverify' });
    const channel = new Channel(worker);
    // URL objects cannot be posted; bytes can.
    const plain = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, v instanceof URL ? v.href : v]));
    const job = nextJob++;
    channel.progress.set(job, (p) => onProgress?.(p));
    try {
      return new WorkerVerifier(channel, await channel.call('create', [plain, job]));
    } catch (e) {
      channel.terminate();
      throw e;
    } finally {
      channel.progress.delete(job);
    }
  }

  #call(method, args = [], transfer = []) {
    return this.#channel.call('verifier', [method, args], transfer);
  }

  async #images(method, inputs, options) {
    const transfer = [];
    const posted = Array.isArray(inputs) ? await Promise.all(inputs.map((x) => postable(x, transfer))) : inputs;
    return this.#call(method, [posted, options], transfer);
  }

  async #image(method, input, options) {
    const transfer = [];
    return this.#call(method, [await postable(input, transfer), options], transfer);
  }

  embed(input, options) { return this.#image('embed', input, options); }
  embedBatch(inputs, options) { return this.#images('embedBatch', inputs, options); }
  embedRaw(inputs) { return this.#images('embedRaw', inputs); }
  detect(input) { return this.#image('detect', input); }
  alignedFace(input, options) { return this.#image('alignedFace', input, options); }

  async verify(a, b, options) {
    const transfer = [];
    return this.#call('verify', [await postable(a, transfer), await postable(b, transfer), options], transfer);
  }

  async calibrate(pairs, options) {
    const transfer = [];
    const posted = Array.isArray(pairs)
      ? await Promise.all(pairs.map(async (p) => ({ a: await postable(p?.a, transfer), b: await postable(p?.b, transfer), same: p?.same })))
      : pairs;
    return this.#call('calibrate', [posted, options], transfer);
  }

  resetCalibration() { return this.#call('resetCalibration'); }

  async fineTune({ images, onProgress, signal, ...options } = {}) {
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'fine-tuning was cancelled before it started');
    const transfer = [];
    const posted = Array.isArray(images) ? await Promise.all(images.map((x) => postable(x, transfer))) : images;
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

  exportTuned() { return this.#call('exportTuned'); }

  async importTuned(bytes) {
    this.model = await this.#call('importTuned', [bytes]);
    return this.model;
  }

  async resetModel() {
    this.model = await this.#call('resetModel');
    return this.model;
  }

  createGallery() {
    const handle = nextGallery++;
    // Messages are handled in order, so calls on the gallery wait for its creation.
    this.#channel.call('galleryCreate', [handle]).catch(() => {});
    return new WorkerGallery(this.#channel, handle);
  }

  /** @internal For Gallery.fromBytes. */
  async _galleryFromBytes(bytes) {
    const handle = nextGallery++;
    await this.#channel.call('galleryFromBytes', [handle, bytes]);
    return new WorkerGallery(this.#channel, handle);
  }

  dispose() {
    // The worker frees the engine when it ends; later calls are rejected.
    this.#channel.terminate();
  }
}
