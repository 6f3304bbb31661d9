/** Error codes carried by every error the package throws. `INTERNAL`: a bug, or the engine
 * crashed (a trap of the wasm instance): the calls in flight fail with it and the verifier
 * restarts the engine with the same model, tuned weights and calibration; galleries held in the
 * crashed engine are lost (load them again from their bytes). */
export type ErrorCode =
  | 'INVALID_INPUT'
  | 'MODEL_LOAD'
  | 'MODEL_VERSION'
  | 'BACKEND_UNAVAILABLE'
  | 'INFERENCE'
  | 'NO_FACE'
  | 'MODEL_MISMATCH'
  | 'FORMAT_VERSION'
  | 'CORRUPT_DATA'
  | 'WRONG_KEY'
  | 'ABORTED'
  | 'CONFLICT'
  | 'DISPOSED'
  | 'INTERNAL';

export class WebverifyError extends Error {
  readonly code: ErrorCode;
}

/** Raw pixels: RGBA, RGB or grey bytes (0–255), rows packed (the channel count follows from the
 * length). Other arrays (a Float32Array of 0–1 values, plain arrays) are refused with
 * INVALID_INPUT: convert them to bytes in the range you mean. */
export type WasmBuild = 'auto' | 'relaxed-simd' | 'simd';

/** Where the full module's two builds are: webverify-training's `training` export (the same
 * shape as that package's `TrainingModule`). */
export interface TrainingModule {
  readonly version: string;
  readonly 'relaxed-simd': string | URL;
  readonly simd: string | URL;
}

export interface Pixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

export type ImageInput =
  | ImageData
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | ImageBitmap
  | HTMLVideoElement
  | VideoFrame
  | Pixels;

export type BackendChoice = 'auto' | 'webgpu' | 'cpu' | 'flex';

/** Test-time augmentation (`TTA_MODES` in constants.js). */
export type Tta = 'none' | 'flip';

export interface CreateOptions {
  /** `auto` (default): where a hardware WebGPU adapter is available, `create` answers on the
   * CPU (`flex (auto: on the CPU while WebGPU is timed in the background)`) and WebGPU starts
   * behind it; both time a warm embedding (median of 3), and when WebGPU is faster the verifier
   * moves to it between two calls, with its calibration, tuned weights and galleries. `backend`
   * then says so with the times, as `webgpu (auto: measured webgpu X ms, cpu Y ms per face)`
   * (`backendChosen()` waits for that). Without an adapter, or with a software (fallback) one
   * such as SwiftShader, the CPU at once, and `backend` says why. `webgpu` or `cpu` force one. */
  backend?: BackendChoice;
  /** Weights to load: a URL, or the bytes. Defaults to the package's
   * `models/mobilefacenet-int8.safetensors` (int8 storage, 1.4 MB); the f32 file
   * `models/mobilefacenet.safetensors` gives the reference model's exact outputs. */
  modelUrl?: string | URL | ArrayBuffer | Uint8Array;
  /** Face detector weights (URL or bytes); defaults to the shipped BlazeFace. `null`: no
   * detector, only `face: 'none'` works. */
  detectorUrl?: string | URL | ArrayBuffer | Uint8Array | null;
  /** `detector` (default): faces aligned on the detector's four points. `mesh`: also load
   * MediaPipe Face Mesh (1.1 MB gzip) and align on its five points (LFW View 1 DevTest 99.20 %
   * instead of 98.80 % with the int8 weights); `landmarks()` needs it. */
  alignment?: 'detector' | 'mesh';
  /** Test-time augmentation for every embedding (verify, embed, enroll, identify). `flip`
   * (default): each face and its mirror image are embedded and summed (LFW View 1 DevTrain
   * 99.45 % instead of 99.27 %, one more network pass per face); `none`: the face alone. Scores
   * use the calibration the weights carry for the mode. */
  tta?: Tta;
  /** Face Mesh weights (URL or bytes) for `alignment: 'mesh'`; defaults to the package's. */
  meshUrl?: string | URL | ArrayBuffer | Uint8Array;
  /** Where a copy of the package's files is served (a CDN, a static folder), when they are not
   * beside its JavaScript: the worker script (`worker.js`), the engine modules (`wasm/`) and the
   * weights (`models/`) are all taken from there, each module as the backend and build need it
   * (a CPU visitor still downloads only the small `cpu` module). Relative to the page. The
   * other URL options still override their own file. */
  assetsUrl?: string | URL;
  /** One module for everything: a `simd` build of the full module (webverify-training's
   * `wasm/webverify_bg.wasm`), then used for every backend and for training. By default a CPU
   * verifier loads the small `cpu` module, WebGPU the `gpu` one, and the first `fineTune` the
   * full module named by `training`. */
  wasmUrl?: string | URL;
  /** Which WebAssembly build runs the CPU kernels: `relaxed-simd` (fused multiply-add; Chrome
   * 114+, Edge, Firefox 146+), `simd` (every current browser), or `auto` (default):
   * relaxed-simd where the browser validates it. The `gpu` module has the `simd` build only.
   * One thread holds one build of each module. */
  wasmBuild?: WasmBuild;
  /** The training module, which `fineTune` needs: the companion package's export,
   * `import { training } from 'webverify-training'` (`npm install webverify-training`, at this
   * package's version). Without it `fineTune` fails with BACKEND_UNAVAILABLE; with another
   * version `create` fails with INVALID_INPUT. */
  training?: TrainingModule;
  /** Run the engine in a dedicated module Web Worker (default on web pages) so the page's main
   * thread only posts messages; `false` runs it on the calling thread (the default in Node.js
   * and inside workers). The API is the same either way. Left out, a browser without module
   * workers, OffscreenCanvas or createImageBitmap runs inline (see `mode`); `true` there fails
   * with BACKEND_UNAVAILABLE naming the missing feature. */
  worker?: boolean;
  /** Download and start-up progress: bytes of the wasm module, the model and the detector
   * (`total`: the file's size, known for the package's own files even when the server compresses; 0 for
   * another file the server sends compressed or without a length), then the backend start.
   * Later, the files a call downloads on first use: the liveness model (stage `liveness`, the
   * first `liveness()` or `challenge()`) and the challenge's face mesh (stage `mesh`). */
  onProgress?: (progress: LoadProgress) => void;
  /** Fails `create` with MODEL_LOAD when a download (wasm, model or detector) receives nothing
   * — no response, or no bytes — for this long. Default 30 000 ms; a slow download that keeps
   * moving is never cut. */
  timeoutMs?: number;
  /** Keep the wasm module and the weights in the Cache API (one cache per package version,
   * weights checked by SHA-256 when read back), so that a second visit downloads nothing.
   * Default true; false downloads every time (the HTTP cache still applies). */
  cache?: boolean;
  /** Aborting it stops the downloads and start-up: `create` rejects with ABORTED (in worker
   * mode the worker is ended). */
  signal?: AbortSignal;
}

export interface LoadProgress {
  /** `training module`: the first `fineTune` downloads the full module
   * (`FineTuneOptions.onLoad`); `liveness`: the first `liveness()` or `challenge()` downloads
   * the liveness model (`CreateOptions.onProgress`). */
  stage: 'wasm' | 'model' | 'detector' | 'mesh' | 'backend' | 'liveness' | 'training module';
  loaded: number;
  total: number;
  /** Milliseconds since `create` was called. */
  ms: number;
}

export interface ModelInfo {
  /** Model name and the first 12 hex digits of the weights' SHA-256. */
  id: string;
  name: string;
  sha256: string;
  embeddingDim: number;
  inputSize: number;
  formatVersion: number;
  /** What the model in use was fine-tuned from and how; null for the shipped model. */
  tuned: { scope: Trainable; baseSha256: string; baseId: string; loss: string | null; steps: number | null } | null;
  /** True when a tuned model carries no calibration of its own and keeps the previous one:
   * FAR figures are then estimates for the model before tuning (refit with `calibrate`). */
  calibrationInherited: boolean;
}

export type FineTuneLoss = 'ntxent' | 'supcon' | 'triplet' | 'arcface' | 'cosface' | 'sphereface' | 'softmax';
/** `adapter`: a residual linear map on the embedding (galleries migrate exactly); `head`: the
 * last bottleneck and the embedding layers; `all`: every layer. */
export type Trainable = 'adapter' | 'head' | 'all';

export interface FineTuneProgress {
  step: number;
  steps: number;
  loss: number;
  /** Milliseconds since training started. */
  ms: number;
}

export interface FineTuneOptions {
  images: ImageInput[];
  /** One per image (any strings or numbers); not needed for `ntxent`. */
  labels?: ArrayLike<string | number>;
  face?: FaceMode;
  /** Default `ntxent`. */
  loss?: FineTuneLoss;
  /** Default `adapter`. */
  trainable?: Trainable;
  /** Default 100. */
  steps?: number;
  /** Images per step (each gives two augmented views); default 16. */
  batchSize?: number;
  /** Peak AdamW learning rate (cosine decay to 0); default 1e-3. */
  lr?: number;
  weightDecay?: number;
  /** NT-Xent / SupCon temperature; default 0.1. */
  temperature?: number;
  /** Triplet α (0.2), ArcFace m (0.5), CosFace m (0.35), SphereFace integer m (4). */
  margin?: number;
  /** Scale s of the margin heads; default 16. */
  scale?: number;
  seed?: number;
  /** Probability of a random illumination gradient per augmented view (default 0: SimCLR's
   * augmentations only); helps where lighting is what varies (docs/FINETUNE.md). */
  shading?: number;
  /** The share of the labelled classes (people) held back from training, in [0, 0.5]; default
   * 0.2. The tuned model is calibrated on their pairs, which it never trained on (see
   * `FineTuneResult.calibration`); 0 trains on every class and keeps the previous calibration
   * (`model.calibrationInherited`). */
  holdBack?: number;
  onProgress?: (progress: FineTuneProgress) => void;
  /** A verifier runs the `cpu` or the `gpu` module, which have no training code: its first
   * `fineTune` downloads the full module first, reported here in bytes (stage `training
   * module`), and trains there on the verifier's backend; that engine is kept for the next run
   * until `dispose()`. Not called when the module is already loaded (or with a custom
   * `wasmUrl`, which is one module with everything). */
  onLoad?: (progress: LoadProgress) => void;
  /** Aborting cancels the run: the promise rejects with ABORTED and the model is unchanged. */
  signal?: AbortSignal;
}

export interface FineTuneResult {
  /** The loss after each step. */
  losses: Float32Array;
  ms: number;
  /** Photos left out because no face was found. */
  skipped: number;
  modelId: string;
  model: ModelInfo;
  /** How the tuned model was calibrated. */
  calibration: TunedCalibration;
}

/** The calibration of a tuned model: fitted on the pairs of the classes held back from training
 * (`holdBack`), or the previous model's, kept, with the reason (no labels, `holdBack: 0`, too few
 * classes, or too few images for 100 impostor pairs). */
export interface TunedCalibration {
  heldBackClasses: number;
  heldBackImages: number;
  /** Same-class pairs of held-back images: the TARs rest on them. */
  genuine: number;
  /** Different-class pairs: the thresholds rest on them (a FAR below 1/impostors is not fitted). */
  impostors: number;
  /** At FAR 1e-2, 1e-3 and 1e-4: the threshold, the share of held-back genuine pairs it accepts,
   * and `source: 'shipped'` where the pairs are too few for that FAR and the previous model's
   * threshold is used (empty when nothing was held back). */
  thresholds: { far: number; threshold: number | null; tar: number | null; source: 'refit' | 'shipped' }[];
  /** True when the tuned model kept the previous calibration (`model.calibrationInherited`). */
  inherited: boolean;
  /** Why nothing was held back; null when the model calibrated itself. */
  reason: string | null;
}

export interface Verification {
  /** Cosine similarity of the two embeddings, in [-1, 1]. */
  similarity: number;
  /** `similarity >= threshold`. */
  match: boolean;
  threshold: number;
  /** Estimated false-accept rate at this similarity (share of impostor pairs of the
   * calibration set scoring as high); null for uncalibrated weights. */
  far: number | null;
  /** Faces found in each photo (the main one of each is compared); null with `face: 'none'`. */
  faces: [number, number] | null;
  /** The face compared in each photo (its box, score and refined landmarks, in the photo's
   * pixels); null with `face: 'none'`. */
  mainFaces: [Face, Face] | null;
  /** The 112x112 crops the model saw, with `crops: true`. */
  crops?: [ImageData, ImageData];
  /** Each main face's quality: components in [0, 1] (1: no concern) and their product, `score`
   * (rejecting the lowest-scoring 10 % of LFW comparisons lowers the false non-match rate by a
   * sixth to a third: docs/ACCURACY.md); null with `face: 'none'`. */
  quality: [FaceQuality, FaceQuality] | null;
}

/** How fit a face is for recognition: each component in [0, 1] (1: no concern), `score` their
 * product. `eyesOpen` and `visibility` come from the face mesh: only with `alignment: 'mesh'`. */
export interface FaceQuality {
  score: number;
  sharpness: number;
  exposure: number;
  pose: number;
  faceSize: number;
  detection: number;
  /** Whether both eyes and the mouth show their detail (sunglasses, a mask or a hand leave a
   * flat region: 0). */
  occlusion: number;
  /** The less open eye against a surely open one (0: shut). */
  eyesOpen?: number;
  /** How sure the mesh is that it sees a whole face (a covered mouth and chin lower it). */
  visibility?: number;
}

/** A labelled pair for `calibrate`: embeddings or images, and whether they are one person. */
export interface LabelledPair {
  a: Float32Array | ImageInput;
  b: Float32Array | ImageInput;
  same: boolean;
}

export interface CalibrationResult {
  genuine: number;
  impostors: number;
  /** Per FAR (1e-2, 1e-3, 1e-4): the threshold (null where the impostor pairs are too few)
   * and the share of genuine pairs it accepts (null without genuine pairs). */
  /** Per reported FAR: the threshold and the share of genuine pairs it accepts. Where the pairs
   * are too few to support a FAR (`source: 'shipped'`), the verifier keeps the threshold
   * shipped with the model at that FAR, so a plain `verify()` keeps working. */
  thresholds: { far: number; threshold: number | null; tar: number | null; source: 'refit' | 'shipped' }[];
}

/** `detect` (default): find and align the main face (the largest, discounted by its distance
 * from the centre); `none`: the input is an aligned crop. */
export type FaceMode = 'detect' | 'none';

export interface Face {
  box: { x: number; y: number; width: number; height: number };
  /** Detection confidence in [0, 1]. */
  score: number;
  /** Pixel coordinates `[x, y]`; "right" is the subject's right. */
  landmarks: {
    rightEye: [number, number];
    leftEye: [number, number];
    noseTip: [number, number];
    mouth: [number, number];
    rightEar: [number, number];
    leftEar: [number, number];
  };
}

export interface FaceLandmarks {
  face: Face;
  /** 468 points `[x, y, z]` in the image's pixels (z: depth relative to the face). */
  /** `faceScore`: the mesh's probability that it sees a face; `faceLogit`: the same before its
   * sigmoid (the probability rounds to 1 for most faces). */
  mesh: { points: [number, number, number][]; faceScore: number; faceLogit: number };
  /** Eye centres, nose tip, mouth corners, image left first. */
  alignmentPoints: [number, number][];
  /** Eye aspect ratio (subject's right, left): ~0.25–0.35 open, below ~0.15 closed. */
  eyeOpenness: [number, number];
  /** Degrees: yaw (+: the subject turns to their left), pitch (+: up), roll. */
  headPose: { yaw: number; pitch: number; roll: number };
}

/** `signal` on a call's options: aborting it rejects the call with ABORTED at once (before it
 * starts, or while it waits: the engine finishes the step it is in and its answer is dropped;
 * a video being sampled stops). The verifier keeps working. */
export interface Abortable {
  signal?: AbortSignal;
}

export interface LivenessOptions extends Abortable {
  /** The operating point: the share of live people wrongly rejected on the calibration data
   * (NUAA's train lists), 0.05 (default) or 0.01. */
  bpcer?: 0.01 | 0.05;
  /** A live-probability threshold of your own (0–1) instead of a calibrated one. */
  threshold?: number;
  /** For a `<video>`: frames sampled (default 5) and the time between them (default 100 ms). */
  frames?: number;
  intervalMs?: number;
  /** Where the liveness weights are (default: the package's MiniFASNet V1SE, f16). */
  livenessUrl?: string | URL | ArrayBuffer | Uint8Array;
}

export interface LivenessResult {
  /** `score >= threshold`. */
  live: boolean;
  /** Mean live probability over the frames with a face, 0–1. */
  score: number;
  threshold: number;
  /** Each frame's live probability (null where no face was found). */
  frameScores: (number | null)[];
  framesWithFace: number;
  /** The face scored in each frame, in its pixels. */
  faces: ({ x: number; y: number; width: number; height: number } | null)[];
  /** The liveness weights' id. */
  model: string;
}

/** A motion a challenge asks for. */
export type ChallengeAction = 'blink' | 'turnLeft' | 'turnRight' | 'lookUp';

export interface ChallengeOptions {
  /** The motions in this order; or `count` (1–4, default 3) different ones in a random order. */
  steps?: ChallengeAction[];
  count?: number;
  /** Time for each motion, the neutral pose first (500–60000 ms, default 5000). */
  stepMs?: number;
  /** The passive check's operating point (default 0.05) or a threshold of your own. */
  bpcer?: 0.01 | 0.05;
  threshold?: number;
  /** Least time between frames (default 80 ms); frames come as fast as the engine checks them. */
  intervalMs?: number;
  /** After each frame: where the challenge stands (`action`: the motion to ask for now). */
  onProgress?: (status: ChallengeStatus & { seen: ChallengeObservation | null }) => void;
  signal?: AbortSignal;
  livenessUrl?: string | URL | ArrayBuffer | Uint8Array;
  /** The face mesh's weights, fetched on first use unless the verifier aligns with it. */
  meshUrl?: string | URL | ArrayBuffer | Uint8Array;
}

/** What one frame showed of the face. */
export interface ChallengeObservation {
  yaw: number;
  pitch: number;
  eyeOpenness: number;
  /** The frame's passive live probability. */
  live: number;
  box: { x: number; y: number; width: number; height: number };
}

export interface ChallengeStatus {
  done: boolean;
  /** Every motion made in time and the passive score live. */
  passed: boolean;
  /** The motion asked now (null while the neutral pose is taken, and once done). */
  action: ChallengeAction | null;
  steps: { action: ChallengeAction; passed: boolean; ms: number | null }[];
  failure: null | 'noNeutralFace' | 'timeout' | 'wrongMotion' | 'faceLost' | 'faceChanged' | 'notLive';
  elapsedMs: number;
  frames: number;
  framesWithFace: number;
  /** The person's own neutral pose, which the motions are measured from. */
  neutral: { yaw: number; pitch: number; eyeOpenness: number } | null;
  /** Mean live probability over the frames facing the camera. */
  passive: { score: number; threshold: number; live: boolean; frames: number } | null;
}

/**
 * Every method rejects only with WebverifyError. An `options` argument may be left out (or
 * `undefined`); `null` or a non-object there is INVALID_INPUT, as are detached buffers anywhere
 * in the arguments and, in worker mode (where they cannot be posted), functions.
 */
export class Verifier {
  static create(options?: CreateOptions): Promise<Verifier>;
  static similarity(a: Float32Array, b: Float32Array): Promise<number>;
  /** The backend in use, and for `auto` why, e.g. `flex (navigator.gpu is missing)`; as the
   * engine last reported it (a call's reply, or `backendChosen()`). */
  readonly backend: string;
  /** Where the engine runs: `worker` (a module worker) or `inline` (the calling thread). */
  readonly mode: 'worker' | 'inline';
  /** The WebAssembly build in use. */
  readonly wasmBuild: 'relaxed-simd' | 'simd';
  /** The engine module running it: `cpu` (Flex alone, what a CPU verifier downloads), `gpu`
   * (WebGPU and Flex, what a WebGPU verifier downloads) or `full` (WebGPU, Flex and training:
   * fetched by the first `fineTune`, or everything when a custom `wasmUrl` is given). */
  readonly wasmModule: 'cpu' | 'gpu' | 'full';
  /** The test-time augmentation in use (`tta` of `create`). */
  readonly tta: Tta;
  readonly model: ModelInfo;
  embed(input: ImageInput, options?: { face?: FaceMode } & Abortable): Promise<Float32Array>;
  embedBatch(inputs: ImageInput[], options?: { face?: FaceMode } & Abortable): Promise<Float32Array[]>;
  embedRaw(inputs: ImageInput[]): Promise<Float32Array[]>;
  /** One engine call. `far`: pick the calibrated threshold at this false-accept rate (default
   * 1e-3); `threshold`: use this cosine threshold instead (it wins when both are given; `far`
   * in the result is still the estimate at the observed similarity); `crops: true` adds the
   * aligned crops the model saw. */
  verify(a: ImageInput, b: ImageInput, options?: { far?: number; threshold?: number; face?: FaceMode; crops?: boolean } & Abortable): Promise<Verification>;
  /** Refits the thresholds on the app's own labelled pairs (at least 100 impostor pairs). */
  calibrate(pairs: LabelledPair[], options?: { face?: FaceMode }): Promise<CalibrationResult>;
  /** Goes back to the calibration shipped with the model. */
  resetCalibration(): Promise<void>;
  detect(input: ImageInput): Promise<Face[]>;
  /** An empty gallery for enrollment and 1:N identification with this model. */
  createGallery(): Gallery;
  /** Fine-tunes the embedder on this device; from then on the verifier uses the tuned model.
   * Needs the `training` option of `create` (the webverify-training package): its first call
   * downloads the training module (4.5 MB gzip, relaxed build; 4.6 MB plain). */
  fineTune(options: FineTuneOptions): Promise<FineTuneResult>;
  /** The tuned weights (tagged with the base model's checksum); null for the shipped model. */
  exportTuned(): Promise<Uint8Array | null>;
  /** MODEL_MISMATCH when the weights were tuned from another base model. */
  importTuned(bytes: Uint8Array | ArrayBuffer): Promise<ModelInfo>;
  /** Back to the shipped model and its calibration. */
  resetModel(): Promise<ModelInfo>;
  /** The backend once `auto` has settled: at once for a forced backend or where nothing was
   * timed; on a hardware adapter, after WebGPU was timed in the background and, when faster,
   * took over (after the calls then in flight). Never rejects for a failed WebGPU: the verifier
   * stays on the CPU and the string says why. */
  backendChosen(): Promise<string>;
  alignedFace(input: ImageInput, options?: { face?: FaceMode }): Promise<ImageData>;
  /** Dense landmarks of the main face; needs `alignment: 'mesh'`. */
  landmarks(input: ImageInput): Promise<FaceLandmarks>;
  /** Passive liveness on one frame, a face track, or a playing `<video>` (sampled). It does not
   * stop masks, deepfakes or injected camera streams. Sampling a video fails with ABORTED when
   * the page goes to the background or the camera stops. */
  liveness(input: ImageInput | ImageInput[] | HTMLVideoElement, options?: LivenessOptions): Promise<LivenessResult>;
  /** Challenge liveness on a playing `<video>`: asks for motions (see `onProgress`) and checks
   * them on the face mesh, with the passive score; resolves when done (passed or not). Rejects
   * with ABORTED when the page goes to the background (a phone stops or freezes its camera
   * there) or the camera stops; the verifier keeps working, and a new challenge can start. */
  challenge(video: HTMLVideoElement, options?: ChallengeOptions): Promise<ChallengeStatus>;
  dispose(): void;
}

/** Why a photo was held back at enrollment. */
export interface QualityIssue {
  code: 'NO_FACE' | 'SEVERAL_FACES' | 'SMALL_FACE' | 'BLURRY' | 'EYES_CLOSED' | 'OCCLUDED' | 'TOO_DARK' | 'LOW_QUALITY' | 'INCONSISTENT';
  message: string;
}

export interface EnrollResult {
  /** Templates added. */
  enrolled: number;
  /** Per input, the issues found (inputs with issues are enrolled only with `force`). */
  issues: QualityIssue[][];
}

export type Aggregation = 'centroid' | 'best' | 'mean';

export interface Identification {
  /** Best first: similarity, and `far`: how often a search of this gallery's size would put a
   * stranger this high. */
  candidates: { id: string; similarity: number; far: number | null }[];
  /** The best candidate's id, or null: nobody enrolled matches. */
  match: string | null;
  /** The threshold that keeps the whole search's false-accept rate at `far`. */
  threshold: number;
  far: number;
  /** The detected face that was identified; null for an embedding or `face: 'none'`. */
  face: Face | null;
}

/** Where `save` and `load` keep a gallery's bytes. */
export interface GalleryStore {
  read(): Promise<Uint8Array | null>;
  write(bytes: Uint8Array): Promise<void>;
}

/** IndexedDB, encrypted with AES-GCM under a CryptoKey or a passphrase (PBKDF2-SHA-256). */
export class IndexedDBStore implements GalleryStore {
  constructor(options: { database?: string; record?: string; key: CryptoKey | string });
  read(): Promise<Uint8Array | null>;
  write(bytes: Uint8Array): Promise<void>;
  clear(): Promise<void>;
}

export class Gallery {
  static create(verifier: Verifier): Gallery;
  /** MODEL_MISMATCH, FORMAT_VERSION or CORRUPT_DATA when the bytes cannot be this model's gallery. */
  /** `options.key`: the bytes were sealed with `toBytes({ key })`; WRONG_KEY unless they check
   * under it. */
  static fromBytes(verifier: Verifier, bytes: Uint8Array | ArrayBuffer, options?: { key?: Uint8Array | ArrayBuffer }): Promise<Gallery>;
  /** null when the store holds no gallery; WRONG_KEY when its key does not open it. */
  static load(verifier: Verifier, store: GalleryStore): Promise<Gallery | null>;
  save(store: GalleryStore): Promise<void>;
  /** Brings the templates to the verifier's current model: exact through an `adapter`
   * fine-tune; MODEL_MISMATCH (enroll again) otherwise. Resolves to whether templates changed. */
  migrate(): Promise<boolean>;
  enroll(id: string, inputs: (ImageInput | Float32Array)[], options?: { metadata?: unknown; force?: boolean; face?: FaceMode } & Abortable): Promise<EnrollResult>;
  identify(input: ImageInput | Float32Array, options?: { topK?: number; far?: number; threshold?: number; aggregation?: Aggregation; face?: FaceMode } & Abortable): Promise<Identification>;
  remove(id: string): Promise<boolean>;
  list(): Promise<{ id: string; templates: number; metadata?: unknown }[]>;
  /** Number of identities. */
  size(): Promise<number>;
  templateCount(): Promise<number>;
  /** The gallery as bytes: checksummed against damage. With `key` (at least 16 random bytes the
   * app keeps) they are sealed with HMAC-SHA256 against forgery and alteration by whoever
   * stores or carries them (not encrypted: use IndexedDBStore or your own encryption for that). */
  toBytes(options?: { key?: Uint8Array | ArrayBuffer }): Promise<Uint8Array>;
  dispose(): void;
}

export default Verifier;
