// The engine host: what runs beside the wasm engine (src/wasm/), on the page (inline mode) or in
// the module worker (worker.js) alike. It picks a backend, loads the module and the weights and
// maps each protocol method (protocol.js) onto the engine; all logic lives in Rust. Not public:
// users hold a Verifier (index.js), which reaches this through its transport (transport.js).
// Inputs are converted in input.js, loading is loading.js, errors get one wrapper (errors.js);
// after a trap the next call rebuilds the engine here (recovery.js), in both modes.
import { digests } from './cache.js';
import { CROP_SIZE, DEFAULT_TTA, LIVENESS_BPCERS, TTA_MODES } from './constants.js';
import { WebverifyError, guardMethods } from './errors.js';
import { GalleryHost } from './gallery-host.js';
import { checkPostable, closeBitmaps, options, pack, trackOf } from './input.js';
import { assetsBase } from './assets.js';
import { defaultFiles, fetchWeights, loadWasm, moduleFor, probeWebgpu, trainingModule } from './loading.js';
import { VERIFIER_METHODS } from './protocol.js';
import { aroundEngine, aroundEngineOnce, currentGeneration, guarded, instanceDead, watchTraps } from './recovery.js';

/** Timed embeddings per backend (after a warm-up) when `auto` chooses between WebGPU and the
 * CPU: the median of these decides. */
const PROBE_RUNS = 3;

/** `backend` while `auto` times WebGPU in the background (after: the measured times). */
const PROMOTING = 'auto: on the CPU while WebGPU is timed in the background';

const FACE_MODES = ['detect', 'none'];

function faceMode(face = 'detect') {
  if (!FACE_MODES.includes(face)) {
    throw new WebverifyError('INVALID_INPUT', `face must be 'detect' or 'none', not '${face}'`);
  }
  return face;
}

/** One engine and what it needs to rebuild itself (after a trap, or on the CPU after a lost GPU). */
export class EngineHost {
  #engine;
  /** The glue of the module the engine lives in (loading.js: `cpu`, `gpu` or `full`). */
  #wasm;
  /** How the full module is loaded when the verifier first fine-tunes: `{ wasmUrl, build, cache,
   * assetsUrl, training }`. */
  #loadFull;
  /** The engine in the full module that trains for this verifier (`#trainer`), kept for the next
   * `fineTune`: a new one compiles its kernels again (minutes on a software GPU adapter). */
  #trainerEngine = null;
  /** The module instance and backend `#trainerEngine` was made in (a trap or a lost device ends
   * it). */
  #trainerMade = null;
  /** The module instance the engine lives in (recovery.js): after a trap it is rebuilt. */
  #generation = currentGeneration();
  /** What rebuilds the engine after a trap: the weights, the detector and the backend chosen.
   * The bytes are kept (5.6 MB with the shipped files) so that a recovery needs no network. */
  #origin;
  /** The state to restore on top: `{ tuned, calibration }` once either changed (else null). */
  #state = null;
  #rebuilding = null;
  /** The liveness model's loading (started by the first `liveness()` call), or null. */
  #livenessLoad = null;
  /** The challenge's face mesh loading (its first call, without `alignment: 'mesh'`), or null. */
  #meshLoad = null;
  /** `auto` on a hardware adapter: the background timing of WebGPU against the CPU and the move
   * to WebGPU when it wins (settles with no value, never rejects), or null. */
  #promotion = null;
  /** The WebGPU engine that won, until the engine is idle and it takes over (`_current`). */
  #promoted = null;
  /** Whether a lost GPU device moved this verifier to the CPU (`_failed`). */
  #lostGpu = false;
  /** Engine calls in flight (recovery.js's `aroundEngine`): the engine is swapped only at 0. */
  #busy = 0;
  /** Resolves when `#busy` next falls to 0 (a promotion waiting to swap), or null. */
  #idle = null;

  constructor(engine, backendReason, origin, loaded, loadFull) {
    this.#engine = engine;
    this.#origin = origin;
    this.#wasm = loaded.wasm;
    this.#loadFull = loadFull;
    /** The backend in use, and for `auto` why or the measured times, e.g. `flex (navigator.gpu is missing)`. */
    this.backend = backendReason ? `${engine.backend} (${backendReason})` : engine.backend;
    /** The WebAssembly build running the engine: `relaxed-simd` or `simd`. */
    this.wasmBuild = loaded.build;
    /** The engine module in use: `cpu` (Flex alone), `gpu` (WebGPU and Flex) or `full` (with
     * training too). */
    this.wasmModule = loaded.kind;
    /** `{ id, name, sha256, embeddingDim, inputSize, formatVersion, tuned, calibrationInherited }`. */
    this.model = engine.modelInfo;
    /** The test-time augmentation of every embedding: `none` or `flip`. */
    this.tta = engine.tta;
  }

  /**
   * Loads the wasm module and the weights and starts a backend, on this thread (the public
   * `Verifier.create` documents the options; it validated `timeoutMs` and `signal`).
   * `onProgress({ stage: 'wasm'|'model'|'detector'|'mesh'|'backend', loaded, total, ms })` reports the
   * download (bytes; total known for the package's own files, else 0 when the server does not say)
   * and the backend start.
   * `alignment: 'mesh'` also loads MediaPipe Face Mesh (1.1 MB gzip, `meshUrl` overrides it):
   * faces are aligned on five mesh points (LFW View 1 DevTest 99.20 % instead of 98.80 % with the int8 weights), and
   * `landmarks()` works. The default, `'detector'`, aligns on the detector's four points.
   * `tta` (test-time augmentation, default `'flip'`): each face and its mirror image are embedded
   * and summed (one more network pass per face); `'none'` embeds the face alone.
   * @param {{ backend?: 'auto'|'webgpu'|'cpu'|'flex'|'ndarray', modelUrl?: string|URL|ArrayBuffer|Uint8Array, detectorUrl?: string|URL|ArrayBuffer|Uint8Array|null, alignment?: 'detector'|'mesh', tta?: 'none'|'flip', meshUrl?: string|URL|ArrayBuffer|Uint8Array, wasmUrl?: string|URL, wasmBuild?: 'auto'|'relaxed-simd'|'simd', worker?: boolean, onProgress?: Function }} [options]
   */
  static async create(given) {
    return EngineHost.#createInline(options(given, 'Verifier.create'));
  }

  static async #createInline({ backend = 'auto', assetsUrl: assetsGiven, modelUrl: modelGiven, detectorUrl: detectorGiven, alignment = 'detector', tta = DEFAULT_TTA, meshUrl: meshGiven, wasmUrl, wasmBuild: build, training: trainingGiven, onProgress, signal, timeoutMs, cache = true }) {
    // Every file from `assetsUrl` when given (a copy of the package's files), each URL option
    // still overriding its own file.
    const assetsUrl = assetsBase(assetsGiven);
    const files = defaultFiles(assetsUrl);
    // Checked now, not at the first fineTune: a wrong version is a set-up mistake.
    const training = trainingModule(trainingGiven);
    const modelUrl = modelGiven ?? files.model;
    const detectorUrl = detectorGiven === undefined ? files.detector : detectorGiven;
    const meshUrl = meshGiven ?? files.mesh;
    const known = ['auto', 'webgpu', 'cpu', 'flex'];
    if (!known.includes(backend)) {
      throw new WebverifyError('INVALID_INPUT', `unknown backend '${backend}'; use ${known.join(', ')}`);
    }
    if (alignment !== 'detector' && alignment !== 'mesh') {
      throw new WebverifyError('INVALID_INPUT', `alignment must be 'detector' or 'mesh', not ${alignment}`);
    }
    if (!TTA_MODES.includes(tta)) {
      throw new WebverifyError('INVALID_INPUT', `tta must be ${TTA_MODES.map((m) => `'${m}'`).join(' or ')}, not ${tta}`);
    }
    if (alignment === 'mesh' && detectorUrl === null) {
      throw new WebverifyError('INVALID_INPUT', "alignment 'mesh' needs the face detector (detectorUrl is null)");
    }
    const t0 = performance.now();
    const report = (stage) => (loaded, total) => onProgress?.({ stage, loaded, total, ms: performance.now() - t0 });
    // The module's bytes as they arrive, then its end (loaded = total; 1 of 1 when no bytes
    // were counted: a file read in Node.js).
    let wasmBytes = 0;
    const wasmReport = (loaded, total) => { wasmBytes = loaded; report('wasm')(loaded, total); };
    if (typeof cache !== 'boolean') throw new WebverifyError('INVALID_INPUT', `cache must be true or false, not ${cache}`);
    const watch = { signal, timeoutMs, cache };
    // Which module: known before any download, except for `auto`, which needs WebGPU's answer.
    // `auto` skips a software adapter at once: it never beats the CPU kernels, and timing it
    // would hold up the start for seconds. `webgpu` asked for explicitly still uses one.
    const gpu = backend === 'auto' || backend === 'webgpu' ? await probeWebgpu() : { unavailable: 'not asked for', software: null };
    if (backend === 'webgpu' && gpu.unavailable) {
      throw new WebverifyError('BACKEND_UNAVAILABLE', `WebGPU is not available: ${gpu.unavailable}; use backend 'cpu' or 'auto'`);
    }
    const gpuReason = gpu.unavailable ?? (backend === 'auto' && gpu.software ? `auto: the WebGPU adapter is a software one (${gpu.software}), slower than the CPU kernels` : null);
    const kind = moduleFor(gpuReason ? 'cpu' : 'webgpu', wasmUrl);
    let loaded;
    const [, weights, detector, mesh] = await Promise.all([
      loadWasm(kind, wasmUrl, { ...watch, onBytes: wasmReport }, build, { assetsUrl }).then((done) => {
        loaded = done;
        watchTraps(done.wasm);
        report('wasm')(wasmBytes || 1, wasmBytes || 1);
      }),
      fetchWeights(modelUrl, report('model'), watch, 'the model'),
      detectorUrl === null ? undefined : fetchWeights(detectorUrl, report('detector'), watch, 'the face detector'),
      alignment === 'mesh' ? fetchWeights(meshUrl, report('mesh'), watch, 'the face mesh') : undefined,
    ]);
    const { wasm } = loaded;
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'Verifier.create was aborted');
    const sha256s = await digests([weights, detector, mesh]);
    const start = async (name) => {
      report('backend')(0, 1);
      const engine = await guarded(() => wasm.Engine.create(weights, name, detector, mesh, sha256s));
      engine.setTta(tta);
      report('backend')(1, 1);
      return engine;
    };
    const made = (engine, reason) => new EngineHost(engine, reason, { weights, detector, mesh, sha256s, tta, backend: engine.backend, watch: { timeoutMs, cache }, files, onProgress }, loaded, { wasmUrl, build, cache, assetsUrl, training });
    if (backend === 'webgpu') return made(await start('webgpu'));
    if (backend === 'auto') {
      if (gpuReason) return made(await start('cpu'), gpuReason);
      // A hardware adapter: answer on the CPU now, and move to WebGPU only once it has proved
      // faster (`#promote`, in the background): a first call never waits for WebGPU's kernels
      // to compile or for the timing (seconds on some adapters).
      const host = made(await start('cpu'), PROMOTING);
      host.#promotion = host.#promote(() => wasm.Engine.create(weights, 'webgpu', detector, mesh, sha256s));
      return host;
    }
    return made(await start(backend));
  }

  #live() {
    if (!this.#engine) throw new WebverifyError('DISPOSED', 'this Verifier was disposed');
    return this.#engine;
  }

  /** @internal Run before every call (inside recovery.js's guard): after a trap re-instantiated
   * the module, or the GPU device was lost, a new engine with this verifier's model, tuned
   * weights and calibration. */
  _current() {
    // Null on the usual path, so that a call starts synchronously (as `dispose()` expects).
    if (!this.#engine) return null;
    const dead = this.#generation !== currentGeneration();
    if (!dead && !(this.#promoted && this.#busy === 0)) return null;
    this.#rebuilding ??= (dead ? this.#rebuild() : this.#takeOver()).finally(() => { this.#rebuilding = null; });
    return this.#rebuilding;
  }

  /** A new engine after a trap (or on the CPU after a lost GPU): the same model, tuned weights,
   * calibration and loaded extras. */
  async #rebuild() {
    // A promoted engine lived in the dead instance: dropped, the backend it won stays chosen.
    this.#promoted = null;
    const { weights, detector, mesh, sha256s, backend } = this.#origin;
    const engine = await this.#wasm.Engine.create(weights, backend, detector, mesh, sha256s);
    const generation = currentGeneration();
    await this.#equip(engine);
    // The dead engine is not freed: its pointer means nothing in the new instance.
    this.#engine = engine;
    this.#generation = generation;
    this.model = engine.modelInfo;
  }

  /** The promoted WebGPU engine takes over from the CPU one, with everything the verifier
   * changed since it started; run only while no call is in flight. A failure keeps the CPU. */
  async #takeOver() {
    const [engine, reason] = this.#promoted;
    this.#promoted = null;
    try {
      await this.#equip(engine);
    } catch (e) {
      engine.free();
      this.#origin = { ...this.#origin, backend: this.#engine.backend };
      this.backend = `${this.#engine.backend} (auto: WebGPU was faster but could not take over: ${e.message ?? e})`;
      return;
    }
    const old = this.#engine;
    this.#engine = engine;
    this.model = engine.modelInfo;
    this.backend = `${engine.backend} (${reason})`;
    old.free();
  }

  /** Gives a new engine this verifier's mode, model, calibration and loaded extras. */
  async #equip(engine) {
    engine.setTta(this.#origin.tta);
    await EngineHost.#apply(engine, this.#state);
    if (this.#origin.liveness) engine.loadLiveness(this.#origin.liveness);
    if (this.#origin.challengeMesh) engine.loadChallengeMesh(this.#origin.challengeMesh);
  }

  /**
   * `auto` on a hardware adapter, after `create` answered on the CPU: makes the WebGPU engine
   * (`createGpu`), times it and the CPU one as `auto` always did, and when WebGPU is faster
   * hands it to `_current`, which swaps it in once no call is in flight. Never rejects: a
   * failure leaves the verifier on the CPU and says why in `backend`.
   */
  async #promote(createGpu) {
    let gpu = null;
    let generation = currentGeneration();
    const sameInstance = () => generation === currentGeneration() && !instanceDead();
    const drop = () => {
      if (gpu && sameInstance()) gpu.free();
      gpu = null;
    };
    try {
      gpu = await guarded(createGpu);
      generation = currentGeneration();
      // A GPU that fails its timing counts as infinitely slow; the CPU timing runs on the engine
      // in use (calls in between only slow WebGPU's figure: the CPU is kept when in doubt).
      const gpuMs = await guarded(() => gpu.timeEmbedding(PROBE_RUNS)).catch((e) => { if (e?.trapped) throw e; return Infinity; });
      const still = () => {
        if (!sameInstance()) throw new Error('the engine restarted after a crash during the timing');
        return this.#engine ?? drop();
      };
      const cpu = still();
      if (!cpu) return undefined;
      const cpuMs = await guarded(() => cpu.timeEmbedding(PROBE_RUNS));
      if (!still()) return undefined;
      const measured = `auto: measured webgpu ${gpuMs.toFixed(1)} ms, cpu ${cpuMs.toFixed(1)} ms per face`;
      if (!(gpuMs < cpuMs)) {
        drop();
        this.backend = `${this.#engine.backend} (${measured})`;
        return undefined;
      }
      this.#promoted = [gpu, measured];
      gpu = null;
      this.#origin = { ...this.#origin, backend: 'webgpu' };
      if (this.#busy > 0) await new Promise((resolve) => { this.#idle = resolve; });
      await guarded(() => this._current());
    } catch (e) {
      drop();
      if (this.#engine && !this.#promoted) this.backend = `${this.#engine.backend} (auto: WebGPU was not timed: ${e.message ?? e})`;
    } finally {
      this.#promotion = null;
    }
    return undefined;
  }

  /** @internal recovery.js's `aroundEngine`: an engine call starts, after `_current`. */
  _begin() {
    this.#busy += 1;
  }

  /** @internal ... and ends. */
  _end() {
    this.#busy -= 1;
    if (this.#busy === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
  }

  /**
   * The backend in use once `auto` has settled (at once for any other backend, and for `auto`
   * where there was nothing to time): on a hardware adapter `create` answers on the CPU, times
   * WebGPU in the background and moves to it when it is faster; this resolves after that move.
   */
  async backendChosen() {
    await this.#promotion;
    return this.backend;
  }

  static async #apply(engine, state) {
    if (!state) return;
    if (state.tuned) await engine.importTuned(state.tuned);
    engine.restoreCalibration(state.calibration);
  }

  /** @internal The tuned weights and calibration in use, for a restart (worker.js keeps the
   * page's client up to date with it). */
  _state() {
    return this.#state;
  }

  /** @internal Puts a `_state()` back (a restarted worker). */
  async _restore(state) {
    await EngineHost.#apply(this.#live(), state);
    this.#state = state;
    this.model = this.#live().modelInfo;
    return this.model;
  }

  /**
   * @internal Every call's error passes here. A lost WebGPU device (BACKEND_UNAVAILABLE from a
   * GPU read: nothing on that device works again) moves this verifier to the CPU, on a new
   * engine with the same model and calibration; the error, flagged `movedToCpu`, has
   * recovery.js run the call again there (the other calls then in flight too).
   */
  _failed(e) {
    if (e?.code !== 'BACKEND_UNAVAILABLE' || !this.#engine) return e;
    if (this.#origin?.backend === 'webgpu') {
      this.#origin = { ...this.#origin, backend: 'flex' };
      this.#generation = -1;
      this.#lostGpu = true;
      this.backend = `flex (moved from WebGPU: ${e.message})`;
    } else if (!this.#lostGpu) {
      return e;
    }
    const moved = new WebverifyError('BACKEND_UNAVAILABLE', `${e.message}; this verifier moved to the CPU backend: call again`, { cause: e });
    moved.movedToCpu = true;
    return moved;
  }

  /** @internal The backend the engine runs on ('flex', 'webgpu' or 'ndarray'), for a restart. */
  _engineBackend() {
    // While `auto` still times WebGPU, a restart does so again.
    return this.#promotion ? 'auto' : this.#origin.backend;
  }

  /** Records the model and calibration after a call that changed them; `tuned`: the bytes of
   * a new tuned model (the very file imported, so that its id and checksum, which galleries
   * record, stay the same after a restart). */
  #remember(tuned = this.#state?.tuned ?? null) {
    this.#state = { tuned, calibration: this.#live().calibrationJson() ?? null };
  }

  /**
   * The unit-length 192-d embedding of the face in one image. `face: 'detect'` (default) finds
   * and aligns the main face (the largest, discounted by its distance from the centre; error
   * NO_FACE when there is none); `'none'` takes the input as an aligned face crop.
   */
  async embed(input, opts) {
    const [e] = await this.embedBatch([input], options(opts, 'embed'));
    return e;
  }

  /** Embeddings of several images, computed as one batch. */
  async embedBatch(inputs, opts) {
    return (await this.#embedPhotos(inputs, options(opts, 'embedBatch').face)).embeddings;
  }

  /** `{ embeddings, faces, mainFaces, quality }`: faces found per image, the face each
   * embedding was made from and its quality (null with `face: 'none'`). */
  async #embedPhotos(inputs, face) {
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw new WebverifyError('INVALID_INPUT', 'embedBatch expects a non-empty array of images');
    }
    const engine = this.#live();
    const out = await engine.embedBatch(...pack(inputs), faceMode(face));
    const dim = this.model.embeddingDim;
    return {
      embeddings: inputs.map((_, i) => out.embeddings.slice(i * dim, (i + 1) * dim)),
      faces: out.faces,
      mainFaces: out.mainFaces,
      quality: out.quality,
    };
  }

  /** The model's raw outputs (not normalised), for comparing with other implementations. */
  async embedRaw(inputs) {
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw new WebverifyError('INVALID_INPUT', 'embedRaw expects a non-empty array of images');
    }
    const flat = await this.#live().embedRaw(...pack(inputs));
    const dim = this.model.embeddingDim;
    return inputs.map((_, i) => flat.slice(i * dim, (i + 1) * dim));
  }

  /**
   * Are `a` and `b` the same? `{ similarity, match, threshold, far, faces }`. The threshold is
   * the calibrated one at `far` (default 1e-3); `threshold` overrides it. The result's `far` is
   * the estimated false-accept rate at the observed similarity; `faces` says how many faces
   * each photo held (the main one is compared), null with `face: 'none'`.
   */
  async verify(a, b, opts) {
    const { far, threshold, face, crops = false } = options(opts, 'verify');
    if (far !== undefined && !(typeof far === 'number' && far > 0 && far <= 1)) {
      throw new WebverifyError('INVALID_INPUT', `far must be a rate in (0, 1], not ${far}`);
    }
    if (threshold !== undefined && !Number.isFinite(threshold)) {
      throw new WebverifyError('INVALID_INPUT', `threshold must be a finite cosine, not ${threshold}`);
    }
    if (typeof crops !== 'boolean') throw new WebverifyError('INVALID_INPUT', `crops must be true or false, not ${crops}`);
    // One engine call: both photos prepared and embedded as one batch, then compared (an
    // explicit threshold wins over far: src/score/verify.rs, Threshold).
    const result = await this.#live().verify(...pack([a, b]), faceMode(face), far, threshold, crops);
    if (!crops) return result;
    const side = CROP_SIZE * CROP_SIZE * 3;
    return { ...result, crops: [rgbImage(result.crops.subarray(0, side)), rgbImage(result.crops.subarray(side))] };
  }

  /**
   * Refits the score calibration on your own labelled pairs, `[{ a, b, same }]` where `a` and
   * `b` are embeddings (Float32Array) or images. Every later `verify` uses the new thresholds
   * and FAR estimates. Needs at least 100 impostor pairs; at a FAR below 1 / impostors the
   * shipped threshold is kept (`source: 'shipped'`). Resolves to `{ genuine, impostors,
   * thresholds: [{ far, threshold, tar, source }] }`.
   */
  async calibrate(pairs, opts) {
    const { face } = options(opts, 'calibrate');
    checkPostable(pairs, 'the pairs of calibrate');
    if (!Array.isArray(pairs) || pairs.length === 0) {
      throw new WebverifyError('INVALID_INPUT', 'calibrate expects a non-empty array of { a, b, same } pairs');
    }
    const dim = this.model.embeddingDim;
    const isEmbedding = (x) => x instanceof Float32Array && x.length === dim;
    const images = pairs.flatMap((p) => [p?.a, p?.b]).filter((x) => !isEmbedding(x));
    const embedded = [];
    for (let i = 0; i < images.length; i += 16) {
      embedded.push(...(await this.embedBatch(images.slice(i, i + 16), { face })));
    }
    const a = new Float32Array(pairs.length * dim);
    const b = new Float32Array(pairs.length * dim);
    let next = 0;
    const vector = (x) => (isEmbedding(x) ? x : embedded[next++]);
    pairs.forEach((p, i) => {
      a.set(vector(p.a), i * dim);
      b.set(vector(p.b), i * dim);
    });
    const same = Uint8Array.from(pairs, (p) => (p.same ? 1 : 0));
    const refit = this.#live().calibrate(a, b, same);
    this.#remember();
    return refit;
  }

  /** Goes back to the calibration shipped with the model. */
  async resetCalibration() {
    this.#live().resetCalibration();
    this.#remember();
  }

  /**
   * Faces in one image, best first: `[{ box: {x, y, width, height}, score, landmarks: {rightEye,
   * leftEye, noseTip, mouth, rightEar, leftEar} }]` in the image's pixels ("right" is the
   * subject's right). An empty array when there is no face.
   */
  async detect(input) {
    return this.#live().detect(...pack([input]));
  }

  /**
   * The main face's dense landmarks (a verifier created with `alignment: 'mesh'`): `{ face,
   * mesh: { points: [[x, y, z] × 468], faceScore, faceLogit }, alignmentPoints, eyeOpenness: [right, left],
   * headPose: { yaw, pitch, roll } }` in the image's pixels and degrees; NO_FACE without a face.
   */
  async landmarks(input) {
    return this.#live().landmarks(...pack([input]));
  }

  /**
   * Passive liveness: is the face a live person or a print or screen held to the camera?
   * `input`: one image, an array of frames (a face track), or a playing `<video>` sampled
   * `frames` times (default 5) every `intervalMs` (default 100). The main face of each frame is
   * scored by MiniFASNet (downloaded on the first call, about 0.9 MB; `livenessUrl` overrides
   * it) and the mean live probability is compared with the threshold calibrated at `bpcer`
   * (0.05 default, or 0.01: the share of live people wrongly rejected on the calibration data)
   * or an explicit `threshold`. Resolves to `{ live, score, threshold, frameScores,
   * framesWithFace, faces, model }` (`model`: the liveness weights' id); NO_FACE when no frame
   * has a face. It does not stop masks,
   * deepfakes or injected camera streams (docs/LIVENESS.md).
   */
  async liveness(input, opts) {
    const { bpcer, threshold, livenessUrl, frames, intervalMs } = options(opts, 'liveness');
    if (bpcer !== undefined && !LIVENESS_BPCERS.includes(bpcer)) {
      throw new WebverifyError('INVALID_INPUT', `bpcer must be ${LIVENESS_BPCERS.join(' or ')} (the calibrated points), not ${bpcer}; or pass a threshold`);
    }
    if (threshold !== undefined && !(Number.isFinite(threshold) && threshold >= 0 && threshold <= 1)) {
      throw new WebverifyError('INVALID_INPUT', `threshold must be a number from 0 to 1, not ${threshold}`);
    }
    const track = await trackOf(input, { frames, intervalMs });
    try {
      const model = await this.#loadLiveness(livenessUrl);
      return { ...(await this.#live().liveness(...pack(track), bpcer, threshold)), model: model.id };
    } finally {
      // Frames sampled here from a video are this call's (a caller's own images are not).
      if (typeof HTMLVideoElement !== 'undefined' && input instanceof HTMLVideoElement) closeBitmaps(track);
    }
  }

  /**
   * Challenge liveness on a playing `<video>` (the camera): the person is asked for motions —
   * `steps` (an array of 'blink', 'turnLeft', 'turnRight', 'lookUp') or `count` (default 3)
   * different ones in a random order — each within `stepMs` (default 5000, the neutral pose
   * first); every frame (one each `intervalMs`, default 80, or as fast as the engine goes) is
   * checked on the face mesh (downloaded on first use unless the verifier aligns with it) and
   * scored by the passive model, whose mean over the frames facing the camera must pass the
   * threshold at `bpcer` (or `threshold`). `onProgress(status)` after each frame shows which
   * motion is asked now. Resolves to `{ passed, failure, steps: [{ action, passed, ms }],
   * elapsedMs, frames, framesWithFace, neutral, passive }`; `failure` is null or one of
   * 'noNeutralFace', 'timeout', 'wrongMotion', 'faceLost', 'faceChanged', 'notLive'.
   */
  /** The first half of `challenge` (its loop runs on the page: challenge.js): the models
   * loaded, the motions chosen. */
  async _challengeStart(opts) {
    const { steps, count, stepMs, bpcer, threshold, livenessUrl, meshUrl } = options(opts, 'challenge');
    if (bpcer !== undefined && !LIVENESS_BPCERS.includes(bpcer)) {
      throw new WebverifyError('INVALID_INPUT', `bpcer must be ${LIVENESS_BPCERS.join(' or ')} (the calibrated points), not ${bpcer}; or pass a threshold`);
    }
    if (steps !== undefined && !(Array.isArray(steps) && steps.every((s) => typeof s === 'string'))) {
      throw new WebverifyError('INVALID_INPUT', "steps must be an array of 'blink', 'turnLeft', 'turnRight', 'lookUp'");
    }
    if (count !== undefined && !(Number.isInteger(count) && count >= 1 && count <= 4)) {
      throw new WebverifyError('INVALID_INPUT', `count must be an integer from 1 to 4, not ${count}`);
    }
    await Promise.all([this.#loadLiveness(livenessUrl), this.#loadChallengeMesh(meshUrl)]);
    // The order is drawn from a secure random seed: a prepared video cannot know it.
    const [seed] = crypto.getRandomValues(new Uint32Array(1));
    return this.#live().challengeStart(steps, count, seed, stepMs, bpcer, threshold);
  }

  /** One frame of `challenge`. */
  async _challengeFrame(state, frame, tMs) {
    if (typeof state !== 'string') throw new WebverifyError('INVALID_INPUT', 'not a challenge state');
    return this.#live().challengeFrame(state, ...pack([frame]), tMs);
  }

  /** Progress of a file a later call downloads (the liveness model, the challenge's face mesh),
   * reported to `create`'s `onProgress` as stage `stage`. */
  #laterProgress(stage) {
    const t0 = performance.now();
    return (loaded, total) => this.#origin.onProgress?.({ stage, loaded, total, ms: performance.now() - t0 });
  }

  /** Loads the face mesh for challenges once, unless the engine has it (`alignment: 'mesh'`). */
  #loadChallengeMesh(url = this.#origin.files.mesh) {
    if (this.#live().hasMesh) return Promise.resolve();
    this.#meshLoad ??= (async () => {
      const bytes = await fetchWeights(url, this.#laterProgress('mesh'), this.#origin.watch ?? {}, 'the face mesh');
      this.#live().loadChallengeMesh(bytes);
      this.#origin = { ...this.#origin, challengeMesh: bytes };
    })().catch((e) => { this.#meshLoad = null; throw e; });
    return this.#meshLoad;
  }

  /** Fetches and loads the liveness model once (again after a failure); resolves to its
   * `{ id, name, sha256, cropScale, thresholds }`. */
  #loadLiveness(url = this.#origin.files.liveness) {
    this.#livenessLoad ??= (async () => {
      const bytes = await fetchWeights(url, this.#laterProgress('liveness'), this.#origin.watch ?? {}, 'the liveness model');
      const info = this.#live().loadLiveness(bytes);
      this.#origin = { ...this.#origin, liveness: bytes };
      return info;
    })().catch((e) => { this.#livenessLoad = null; throw e; });
    return this.#livenessLoad;
  }

  /** The 112x112 crop the model sees for this input, as ImageData (or `{ data, width, height }`
   * where ImageData does not exist). */
  async alignedFace(input, opts) {
    const { face } = options(opts, 'alignedFace');
    return rgbImage(await this.#live().alignedFace(...pack([input]), faceMode(face)));
  }

  /**
   * Fine-tunes the embedder on this device (see FineTuneOptions in index.d.ts): `images` are
   * photos (faces are found as in `embed`; photos without one are left out and counted in
   * `skipped`), `labels` one value per image (any strings or numbers; not needed for
   * `loss: 'ntxent'`). `onProgress({ step, steps, loss, ms })` is called after every step;
   * aborting `signal` stops the run (error ABORTED, model unchanged). From then on the verifier
   * embeds with the tuned model; galleries made before need `gallery.migrate()`.
   */
  async fineTune(opts) {
    const { images, labels, face, onProgress, onLoad, signal, ...recipe } = options(opts, 'fineTune');
    // NaN and Infinity would become null in JSON, and null means "the default": a typo'd
    // `steps: NaN` would silently train 100 steps. Refused here, before serialising.
    for (const [key, value] of Object.entries(recipe)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new WebverifyError('INVALID_INPUT', `fineTune option ${key} is ${value}; give a finite number or leave it out`);
      }
    }
    if (!Array.isArray(images) || images.length < 2) {
      throw new WebverifyError('INVALID_INPUT', 'fineTune expects an array of at least 2 images');
    }
    if (labels != null && (!Array.isArray(labels) && !ArrayBuffer.isView(labels) || labels.length !== images.length)) {
      throw new WebverifyError('INVALID_INPUT', `fineTune expects one label per image (${images.length})`);
    }
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'fine-tuning was cancelled before it started');
    const ids = new Map();
    const dense = labels == null ? new Uint32Array(0) : Uint32Array.from(labels, (l) => {
      if (!ids.has(l)) ids.set(l, ids.size);
      return ids.get(l);
    });
    const onStep = async (progress) => {
      onProgress?.(progress);
      // A turn of the event loop: the page stays responsive and an abort is seen.
      await new Promise((resolve) => setTimeout(resolve, 0));
      return !signal?.aborted;
    };
    const trainer = await this.#trainer(onLoad, signal);
    let out;
    try {
      out = await trainer.fineTune(...pack(images), dense, faceMode(face), JSON.stringify(recipe), onStep);
      if (trainer !== this.#live()) {
        // Trained in the full module: the verifier's own engine takes the very file (same model
        // id and checksum) and the calibration that training left.
        const tuned = await trainer.exportTuned();
        const calibration = trainer.calibrationJson() ?? null;
        this.model = await this.#live().importTuned(tuned);
        this.#live().restoreCalibration(calibration);
      }
    } catch (e) {
      // Only a lost device or a crash leaves the kept engine unusable (bad options, a cancel or
      // NO_FACE do not): the next run makes a new one.
      if (trainer === this.#trainerEngine && !['INVALID_INPUT', 'ABORTED', 'NO_FACE'].includes(e?.code)) this.#dropTrainer();
      throw e;
    }
    this.model = this.#live().modelInfo;
    // The file fine-tuning made and loaded (exportTuned gives the same bytes).
    this.#remember((await this.#live().exportTuned()) ?? null);
    return { losses: out.losses, ms: out.ms, skipped: out.skipped, modelId: out.modelInfo.id, model: out.modelInfo, calibration: out.calibration };
  }

  /**
   * The engine that trains: this verifier's own when it runs in the full module (a custom
   * `wasmUrl`); otherwise (the `cpu` and `gpu` modules have no training code) an engine on the
   * verifier's backend in the full module, loaded now (`onLoad({ stage: 'training module',
   * loaded, total, ms })` in bytes), with this verifier's model, tuned weights and calibration.
   * It is kept for the next run (with the verifier's model put back first) and freed by `dispose`.
   */
  async #trainer(onLoad, signal) {
    if (typeof this.#live().fineTune === 'function') return this.#live();
    const made = this.#trainerMade;
    if (this.#trainerEngine && made.generation === currentGeneration() && made.backend === this.#origin.backend) {
      this.#trainerEngine.resetModel();
      await EngineHost.#apply(this.#trainerEngine, this.#state);
      return this.#trainerEngine;
    }
    this.#dropTrainer();
    const { wasmUrl, build, cache, assetsUrl, training } = this.#loadFull;
    const t0 = performance.now();
    const report = (loaded, total) => onLoad?.({ stage: 'training module', loaded, total, ms: performance.now() - t0 });
    const { wasm } = await loadWasm('full', wasmUrl, { signal, cache, onBytes: report }, build, { assetsUrl, training });
    watchTraps(wasm);
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'fine-tuning was cancelled before it started');
    const { weights, detector, mesh, sha256s } = this.#origin;
    const trainer = await wasm.Engine.create(weights, this.#origin.backend, detector, mesh, sha256s);
    await EngineHost.#apply(trainer, this.#state);
    this.#trainerEngine = trainer;
    this.#trainerMade = { generation: currentGeneration(), backend: this.#origin.backend };
    return trainer;
  }

  /** Frees the kept training engine (one of a dead instance is only dropped, see `_current`). */
  #dropTrainer() {
    if (this.#trainerEngine && this.#trainerMade.generation === currentGeneration() && !instanceDead()) this.#trainerEngine.free();
    this.#trainerEngine = null;
    this.#trainerMade = null;
  }

  /** The tuned weights in use as bytes (null for the shipped model): save them and
   * `importTuned` them later, here or in `webverify --tuned`. */
  async exportTuned() {
    return (await this.#live().exportTuned()) ?? null;
  }

  /** Uses tuned weights from `exportTuned` or `webverify train`; MODEL_MISMATCH when they were
   * tuned from another base model. Returns the new model info. */
  async importTuned(bytes) {
    const file = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.model = await this.#live().importTuned(file);
    this.#remember(file.slice());
    return this.model;
  }

  /** Goes back to the shipped model (and its calibration). Returns the model info. */
  async resetModel() {
    const engine = this.#live();
    engine.resetModel();
    this.model = engine.modelInfo;
    this.#state = null;
    return this.model;
  }

  /** An empty gallery for enrollment and 1:N identification with this model. */
  createGallery() {
    const engine = this.#live();
    // Synchronous: while the engine awaits its restart after a trap, the gallery is made on
    // its first call instead (Gallery's guard).
    const alive = this.#generation === currentGeneration() && !instanceDead();
    return new GalleryHost(this, alive ? new this.#wasm.Gallery(engine) : null);
  }

  /** @internal For Gallery: a new empty wasm gallery on the live engine. */
  _newGallery() {
    return new this.#wasm.Gallery(this.#live());
  }

  /** @internal For Gallery.fromBytes. */
  async _galleryFromBytes(bytes, key) {
    const engine = this.#live();
    return new GalleryHost(this, key === undefined ? this.#wasm.Gallery.fromBytes(engine, bytes) : this.#wasm.Gallery.fromSealedBytes(engine, bytes, key));
  }

  /** @internal For Gallery: the embedding of one photo's main face, and that face. */
  async _embedFace(input, face) {
    const { embeddings: [embedding], mainFaces: [main] } = await this.#embedPhotos([input], face);
    return { embedding, face: main };
  }

  /** @internal For Gallery: the live wasm engine. */
  _engine() {
    return this.#live();
  }

  /** @internal For Gallery: photos embedded and checked for enrollment (a wasm Offer). */
  async _offer(inputs, face) {
    return this.#live().offer(...pack(inputs), faceMode(face));
  }

  /** Releases the model's memory; the verifier cannot be used afterwards. */
  dispose() {
    // An engine of a dead instance is dropped, not freed (see `_current`).
    if (this.#generation === currentGeneration()) {
      this.#engine?.free();
      this.#promoted?.[0].free();
    }
    this.#engine = null;
    this.#promoted = null;
    this.#dropTrainer();
  }
}

// Every protocol method rejects only with WebverifyError, and runs on a live engine: a trap
// fails the calls in flight and the next call restarts the engine (recovery.js).
// (`backendChosen` runs no engine: guarded, it would count as a call in flight and hold up the
// very move it waits for.)
guardMethods(EngineHost.prototype, [...Object.keys(VERIFIER_METHODS).filter((m) => m !== 'backendChosen'), '_galleryFromBytes'], aroundEngine);
guardMethods(EngineHost.prototype, ['fineTune'], aroundEngineOnce);
guardMethods(EngineHost, ['create']);

/** An aligned RGB crop from the engine as ImageData (or `{ data, width, height }` where
 * ImageData does not exist, as in Node.js). */
function rgbImage(rgb) {
  const n = CROP_SIZE;
  const rgba = new Uint8ClampedArray(n * n * 4);
  for (let i = 0; i < n * n; i++) {
    rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = 255;
  }
  return typeof ImageData !== 'undefined' ? new ImageData(rgba, n, n) : { data: rgba, width: n, height: n };
}
