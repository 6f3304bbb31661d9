// The public Gallery: enrollment and 1:N identification with a Verifier's model. Its templates
// live beside the engine (gallery-host.js over src/gallery/), reached through the verifier's
// transport (transport.js), in worker and inline mode alike; the methods are made from the
// table in protocol.js.
import { transportOf } from './binding.js';
import { guardMethods } from './errors.js';
import { galleryBytes, options, sealingKey } from './input.js';
import { GALLERY_METHODS } from './protocol.js';

/** Each gallery's call into the host: one method of the protocol table (kept beside the class,
 * not in a static block, which would raise the oldest browsers to Chrome 94, Firefox 93). */
const requests = new WeakMap();

export class Gallery {
  #verifier;
  #handle;
  /** The transport's generation it was made in: a worker that died took it along. */
  #generation;
  #disposed = false;

  /** @internal Use `verifier.createGallery()`, `Gallery.fromBytes` or `Gallery.load`. */
  constructor(verifier, handle, generation) {
    this.#verifier = verifier;
    this.#handle = handle;
    this.#generation = generation;
    requests.set(this, (name, args, kinds) => transportOf(this.#verifier).gallery(this.#handle, this.#generation, name, args, kinds));
  }

  /** An empty gallery for `verifier`'s model (the same as `verifier.createGallery()`). */
  static create(verifier) {
    return verifier.createGallery();
  }

  /** A gallery from `toBytes()` output; MODEL_MISMATCH, FORMAT_VERSION or CORRUPT_DATA when
   * the bytes were made by another model, a newer format, or are damaged or make no sense.
   * `{ key }`: the bytes were sealed with `toBytes({ key })`; WRONG_KEY unless they check. */
  static async fromBytes(verifier, bytes, opts) {
    const { key } = options(opts, 'Gallery.fromBytes');
    const transport = transportOf(verifier);
    const generation = transport.generation;
    const handle = await transport.galleryFromBytes(galleryBytes(bytes), key === undefined ? undefined : sealingKey(key));
    return new Gallery(verifier, handle, generation);
  }

  /** Loads a gallery saved with `save(store)`; null when the store holds none. */
  static async load(verifier, store) {
    const bytes = await store.read();
    return bytes === null ? null : Gallery.fromBytes(verifier, bytes);
  }

  /** Saves the gallery (templates only, never images) into `store`, e.g. an IndexedDBStore. */
  async save(store) {
    await store.write(await this.toBytes());
  }

  /** Frees the templates; later calls fail with DISPOSED. */
  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    transportOf(this.#verifier).galleryDispose(this.#handle, this.#generation);
  }
}

// The methods of the table (enroll, identify, migrate, remove, list, size, templateCount,
// toBytes): each one request to the host, documented in index.d.ts.
for (const [name, { args: kinds }] of Object.entries(GALLERY_METHODS)) {
  Object.defineProperty(Gallery.prototype, name, {
    value: async function (...args) {
      return requests.get(this)(name, args.slice(0, kinds.length), kinds);
    },
    writable: true,
    configurable: true,
  });
}

// Every public method rejects only with WebverifyError.
guardMethods(Gallery.prototype, [...Object.keys(GALLERY_METHODS), 'save']);
guardMethods(Gallery, ['fromBytes', 'load']);
