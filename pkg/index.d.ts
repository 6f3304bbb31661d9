/** Error codes carried by every error the package throws. */
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
  | 'INTERNAL';

export class WebverifyError extends Error {
  readonly code: ErrorCode;
}

/** Raw pixels: RGBA, RGB or grey bytes, rows packed (the channel count follows from the length). */
export interface Pixels {
  data: Uint8Array | Uint8ClampedArray | ArrayLike<number>;
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

export type BackendChoice = 'auto' | 'webgpu' | 'cpu' | 'flex' | 'ndarray';

export interface CreateOptions {
  /** `auto` (default): WebGPU when an adapter is available, else the CPU. */
  backend?: BackendChoice;
  /** Weights to load: a URL, or the bytes. Defaults to the weights shipped in the package. */
  modelUrl?: string | URL | ArrayBuffer | Uint8Array;
  /** Face detector weights (URL or bytes); defaults to the shipped BlazeFace. `null`: no
   * detector, only `face: 'none'` works. */
  detectorUrl?: string | URL | ArrayBuffer | Uint8Array | null;
  /** Where the .wasm file is served from, if a bundler moved it. */
  wasmUrl?: string | URL;
}

export interface ModelInfo {
  /** Model name and the first 12 hex digits of the weights' SHA-256. */
  id: string;
  name: string;
  sha256: string;
  embeddingDim: number;
  inputSize: number;
  formatVersion: number;
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
  thresholds: { far: number; threshold: number | null; tar: number | null }[];
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

export class Verifier {
  static create(options?: CreateOptions): Promise<Verifier>;
  static similarity(a: Float32Array, b: Float32Array): number;
  /** The backend in use, and for `auto` why, e.g. `flex (navigator.gpu is missing)`. */
  readonly backend: string;
  readonly model: ModelInfo;
  embed(input: ImageInput, options?: { face?: FaceMode }): Promise<Float32Array>;
  embedBatch(inputs: ImageInput[], options?: { face?: FaceMode }): Promise<Float32Array[]>;
  embedRaw(inputs: ImageInput[]): Promise<Float32Array[]>;
  /** `far`: pick the calibrated threshold at this false-accept rate (default 1e-3);
   * `threshold`: use this cosine threshold instead. */
  verify(a: ImageInput, b: ImageInput, options?: { far?: number; threshold?: number; face?: FaceMode }): Promise<Verification>;
  /** Refits the thresholds on the app's own labelled pairs (at least 100 impostor pairs). */
  calibrate(pairs: LabelledPair[], options?: { face?: FaceMode }): Promise<CalibrationResult>;
  /** Goes back to the calibration shipped with the model. */
  resetCalibration(): void;
  detect(input: ImageInput): Promise<Face[]>;
  alignedFace(input: ImageInput, options?: { face?: FaceMode }): Promise<ImageData>;
  dispose(): void;
}

export default Verifier;
