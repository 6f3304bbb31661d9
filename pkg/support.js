// What this browser can run, detected before anything is downloaded: the engine needs
// WebAssembly with SIMD128 (no fallback: a clear BACKEND_UNAVAILABLE); the default worker mode
// needs module workers, OffscreenCanvas (the worker reads images through it) and
// createImageBitmap (images cross to the worker as ImageBitmaps), and without any of them the
// verifier runs inline instead. The first browser versions with each feature are in README.md
// ("Browser support", made by tools/min-versions.mjs from MDN's compatibility data).
import { WebverifyError } from './errors.js';

/** A one-function module using `v128.const` (the bytes wasm-feature-detect 1.8.0, Apache-2.0,
 * uses for its `simd()`). */
const SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];
/** A one-function module using `ref.null func` (wasm-feature-detect's `referenceTypes()`): the
 * engine's modules are built with reference types, which Chrome gained after SIMD. */
const REFERENCE_TYPES_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 7, 1, 5, 0, 208, 112, 26, 11];
/** A one-function module using `f32x4.relaxed_madd` (wasm-feature-detect's `relaxedSimd()`). */
const RELAXED_SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0,
  65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11];

const validates = (bytes) => {
  try {
    return WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
};

/** Whether this engine validates relaxed SIMD (the CPU kernels' fused multiply-add). */
export function hasRelaxedSimd() {
  return typeof WebAssembly !== 'undefined' && validates(RELAXED_SIMD_PROBE);
}

/** Why the engine cannot run here (WebAssembly missing or forbidden by the page's CSP, its SIMD
 * or reference types missing), or null.
 * The modules use more (bulk memory, multi-value, sign extension, non-trapping conversions),
 * but every browser with these two has those. */
export function wasmMissing() {
  if (typeof WebAssembly === 'undefined' || typeof WebAssembly.validate !== 'function') {
    return 'WebAssembly is missing (turned off: iOS Lockdown Mode, an enterprise policy or a browser setting)';
  }
  // Validating compiles nothing; compiling is what a Content-Security-Policy without
  // 'wasm-unsafe-eval' (or 'unsafe-eval') forbids. The smallest module, the 8-byte header, can
  // fail to compile for no other reason.
  try {
    new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  } catch (e) {
    return `the page's Content-Security-Policy forbids compiling WebAssembly (${e.message}); add 'wasm-unsafe-eval' to its script-src`;
  }
  if (!validates(SIMD_PROBE)) return 'WebAssembly SIMD128 is missing (Chrome 91, Edge 91, Firefox 89, Safari 16.4 or later)';
  if (!validates(REFERENCE_TYPES_PROBE)) return 'WebAssembly reference types are missing (Chrome 96, Edge 96, Firefox 79, Safari 15.1 or later)';
  return null;
}

/** Throws BACKEND_UNAVAILABLE, naming the feature, where the engine cannot run. */
export function requireWasm() {
  const missing = wasmMissing();
  if (missing) throw new WebverifyError('BACKEND_UNAVAILABLE', `webverify cannot run in this browser: ${missing}`);
}

/** Whether `new Worker(url, { type: 'module' })` starts a module worker. A browser that does
 * not know the option ignores it and starts a classic worker, which then fails on the first
 * `import`; the option's `type` is read while the constructor converts its arguments only where
 * it is known. The URL is invalid, so the probe throws before any worker or request exists. */
function hasModuleWorkers() {
  if (typeof Worker === 'undefined') return false;
  let known = false;
  try {
    new Worker('http://[', { get type() { known = true; return 'module'; } }).terminate();
  } catch {
    // The invalid URL, as intended.
  }
  return known;
}

function hasOffscreen2d() {
  try {
    return typeof OffscreenCanvas !== 'undefined' && !!new OffscreenCanvas(1, 1).getContext('2d');
  } catch {
    return false;
  }
}

/** Why the default worker mode cannot run here (the first missing feature), or null. */
export function workerMissing() {
  if (typeof window === 'undefined' || typeof Worker === 'undefined') return 'Worker is missing';
  if (!hasModuleWorkers()) return 'module workers are missing (Chrome 80, Edge 80, Firefox 114, Safari 15 or later)';
  if (!hasOffscreen2d()) return 'OffscreenCanvas with a 2d context is missing (Chrome 69, Edge 79, Firefox 105, Safari 16.4 or later)';
  if (typeof createImageBitmap === 'undefined') return 'createImageBitmap is missing (Chrome 50, Edge 79, Firefox 42, Safari 15 or later)';
  return null;
}
