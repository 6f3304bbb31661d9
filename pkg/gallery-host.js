// The host side of a Gallery: enrollment and 1:N identification over the wasm gallery
// (src/gallery/), beside its EngineHost (engine-host.js), on the page or in the worker. The
// logic is in Rust; this wraps it with the host's image handling, and every method with the one
// error wrapper. Users hold a Gallery (gallery.js), which reaches this through the transport.
import { WebverifyError, guardMethods } from './errors.js';
import { GALLERY_METHODS } from './protocol.js';
import { checkPostable, options, sealingKey } from './input.js';
import { aroundEngine, currentGeneration } from './recovery.js';

export class GalleryHost {
  #verifier;
  #inner;
  /** The module instance `#inner` lives in (recovery.js). */
  #generation = currentGeneration();
  /** Made on the first call (created while the engine awaited its restart after a trap). */
  #pending;

  /** Made by `EngineHost.createGallery()` and `EngineHost._galleryFromBytes`. */
  constructor(verifier, inner) {
    this.#verifier = verifier;
    this.#inner = inner;
    this.#pending = inner === null;
  }

  /** @internal A call's error, seen by the verifier (a lost GPU moves it to the CPU). */
  _failed(e) {
    return this.#verifier._failed(e);
  }

  /** @internal A call starts and ends: counted as the verifier's (its engine is not swapped
   * under a gallery call). */
  _begin() {
    this.#verifier._begin();
  }

  _end() {
    this.#verifier._end();
  }

  /** @internal Run before every call, inside recovery.js's guard (null when there is nothing
   * to wait for). */
  _current() {
    const rebuilding = this.#verifier._current();
    if (!rebuilding && !this.#pending) return null;
    return (async () => {
      await rebuilding;
      if (this.#pending) {
        this.#inner = this.#verifier._newGallery();
        this.#generation = currentGeneration();
        this.#pending = false;
      }
    })();
  }

  #live() {
    if (!this.#inner) throw new WebverifyError('DISPOSED', 'this Gallery was disposed');
    if (this.#generation !== currentGeneration()) {
      // Its templates were in the crashed instance's memory, which cannot be trusted.
      throw new WebverifyError('INTERNAL', 'this Gallery was lost when the engine restarted after a crash; load it again from its saved bytes (Gallery.fromBytes, Gallery.load)');
    }
    return this.#inner;
  }

  /**
   * Adds templates to `id` from photos (each goes through the quality gate: NO_FACE,
   * SEVERAL_FACES, SMALL_FACE, BLURRY, INCONSISTENT) or from ready embeddings (Float32Array).
   * Photos with issues are held back unless `force`; a photo without a face never enrolls.
   * Resolves to `{ enrolled, issues }` with one list of `{ code, message }` per input.
   */
  async enroll(id, inputs, opts) {
    const { metadata, force = false, face } = options(opts, 'enroll');
    if (typeof id !== 'string' || id.length === 0) throw new WebverifyError('INVALID_INPUT', 'enroll needs a non-empty string id');
    if (!Array.isArray(inputs) || inputs.length === 0) throw new WebverifyError('INVALID_INPUT', 'enroll needs a non-empty array of photos or embeddings');
    checkPostable(inputs, 'the inputs of enroll');
    let meta;
    try {
      meta = metadata === undefined ? undefined : JSON.stringify(metadata);
    } catch (e) {
      throw new WebverifyError('INVALID_INPUT', `enroll metadata must be JSON-serialisable: ${e.message}`, { cause: e });
    }
    if (inputs.every((x) => x instanceof Float32Array)) {
      const flat = new Float32Array(inputs.reduce((n, x) => n + x.length, 0));
      let at = 0;
      for (const x of inputs) { flat.set(x, at); at += x.length; }
      this.#live().enrollEmbeddings(id, flat, meta);
      return { enrolled: inputs.length, issues: inputs.map(() => []) };
    }
    const offer = await this.#verifier._offer(inputs, face);
    return this.#live().enroll(this.#verifier._engine(), id, offer, meta, force);
  }

  /**
   * Who is in `input` (a photo or an embedding)? `{ candidates: [{ id, similarity, far }],
   * match, threshold, far, face }`, `face` being the detected face that was identified (its box,
   * score and landmarks; null for an embedding or `face: 'none'`). `match` is the best candidate's id, or null for "nobody
   * enrolled": the threshold keeps the whole search's false-accept rate at `far` (default 1e-3),
   * so it rises as the gallery grows (a gallery too large for the calibration to support that
   * rate is an INVALID_INPUT error: pass a larger `far`, or a cosine `threshold` of your own).
   * `aggregation`: 'centroid' (default), 'best' or 'mean'.
   */
  async identify(input, opts) {
    const { topK = 5, far, threshold, aggregation, face } = options(opts, 'identify');
    checkPostable(input, 'the input of identify'); // a detached embedding is INVALID_INPUT, not a TypeError
    const { embedding, face: found } = input instanceof Float32Array
      ? { embedding: input, face: null }
      : await this.#verifier._embedFace(input, face);
    const result = await this.#live().identify(this.#verifier._engine(), embedding, topK, far, aggregation, threshold);
    return { ...result, face: found };
  }

  /**
   * Brings the gallery to the verifier's current model after `fineTune`/`importTuned`/`resetModel`:
   * templates of the shipped model pass exactly through an `adapter` fine-tune (no photos
   * needed). After other fine-tunes the identities must be enrolled again (MODEL_MISMATCH).
   * Resolves to whether templates changed.
   */
  async migrate() {
    return this.#live().migrate(this.#verifier._engine());
  }

  /** Removes an identity; false when it was not enrolled. */
  async remove(id) {
    return this.#live().remove(id);
  }

  /** `[{ id, templates, metadata }]` in enrollment order. */
  async list() {
    return this.#live().list().map(({ id, templates, metadata }) => (metadata ? { id, templates, metadata: JSON.parse(metadata) } : { id, templates }));
  }

  /** Number of identities. */
  async size() {
    return this.#live().size;
  }

  /** Number of templates over all identities. */
  async templateCount() {
    return this.#live().templateCount;
  }

  /** The gallery as bytes (versioned, tied to the model, checksummed; not encrypted). The
   * checksum catches damage, not forgery: with `{ key }` (16+ random bytes the app keeps) the
   * bytes are sealed with HMAC-SHA256, so whoever stores or carries them cannot forge or alter
   * them; open them with `Gallery.fromBytes(v, bytes, { key })`. */
  async toBytes(opts) {
    const { key } = options(opts, 'toBytes');
    return key === undefined ? this.#live().toBytes() : this.#live().toSealedBytes(sealingKey(key));
  }

  dispose() {
    if (this.#generation === currentGeneration()) this.#inner?.free();
    this.#inner = null;
    this.#pending = false;
  }
}

guardMethods(GalleryHost.prototype, Object.keys(GALLERY_METHODS), aroundEngine);
