// webverify-training: what only fine-tuning needs, kept out of the main package (it would
// triple its download): the engine's full module (WebGPU, Flex and the training code) in its
// two builds, and the f32 MobileFaceNet weights. Pass `training` to `Verifier.create`:
//
//   import { Verifier } from 'webverify';
//   import { training } from 'webverify-training';
//   const v = await Verifier.create({ training });
//
// The URLs are written as `new URL('./…', import.meta.url)` so that bundlers emit the files
// and a CDN serves them beside this module; `.href` makes them text, which crosses to the
// package's worker. The module's JavaScript glue is in the main package: `version` must be
// the main package's (webverify checks it: a glue of another version cannot link this module).

/** The package's version (checked by tools/check-package.mjs against package.json). */
export const VERSION = '0.1.0';

/** The full module's two builds, for `Verifier.create({ training })`. */
export const training = Object.freeze({
  version: VERSION,
  'relaxed-simd': new URL('./wasm/relaxed/webverify_bg.wasm', import.meta.url).href,
  simd: new URL('./wasm/webverify_bg.wasm', import.meta.url).href,
});

/** The reference embedder with f32 weights (5.2 MB; the main package's default is its int8
 * copy, 1.4 MB, within the fold noise on LFW): pass it as `modelUrl` for the reference
 * model's exact outputs. */
export const F32_MODEL_URL = new URL('./models/mobilefacenet.safetensors', import.meta.url).href;
