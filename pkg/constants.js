// Constants the engine defines and the package needs on the JavaScript side. The Rust
// definitions are the source; tests/shared_constants.rs reads this file and fails when a value
// here differs from the engine's (and index.d.ts's unions from these lists).

/** Side of the aligned face crop the embedder sees (`nn::mobilefacenet::INPUT_SIZE`). */
export const CROP_SIZE = 112;

/** The false-accept rates the shipped calibration reports thresholds at
 * (`score::calibration::REPORTED_FARS`), and the default (`DEFAULT_FAR`). */
export const REPORTED_FARS = [1e-2, 1e-3, 1e-4];
export const DEFAULT_FAR = 1e-3;

/** Test-time augmentation (`score::embedder::Tta`): `flip` embeds each face and its mirror
 * image and sums them; the default (`Tta::DEFAULT`) was chosen on LFW View 1 DevTrain. */
export const TTA_MODES = ['none', 'flip'];
export const DEFAULT_TTA = 'flip';

/** The liveness thresholds' calibrated BPCER points (`liveness::CALIBRATED_BPCERS`). */
export const LIVENESS_BPCERS = [0.01, 0.05];

/** Why enrollment holds a photo back (`face::quality::ISSUE_CODES`; `QualityIssue` in index.d.ts). */
export const ISSUE_CODES = ['NO_FACE', 'SEVERAL_FACES', 'SMALL_FACE', 'BLURRY', 'EYES_CLOSED', 'OCCLUDED', 'TOO_DARK', 'LOW_QUALITY', 'INCONSISTENT'];

/** Every error code (`ErrorCode::ALL` and the package's own two; `ErrorCode` in index.d.ts). */
export const ERROR_CODES = [
  'INVALID_INPUT', 'MODEL_LOAD', 'MODEL_VERSION', 'BACKEND_UNAVAILABLE', 'INFERENCE', 'NO_FACE',
  'MODEL_MISMATCH', 'FORMAT_VERSION', 'CORRUPT_DATA', 'ABORTED', 'WRONG_KEY', 'CONFLICT',
  // The package's own: a disposed verifier or gallery, and a crash of the engine.
  'DISPOSED', 'INTERNAL',
];
