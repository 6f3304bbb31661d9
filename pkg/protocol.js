// The one declaration of the package's engine API: every method of Verifier and Gallery that
// runs in the host (host.js), with how each argument crosses to a worker. The public classes
// (index.js, gallery.js) build their methods from it, the host accepts exactly these, and the
// engine host gets its error wrapper from it; a test checks that index.d.ts declares the same
// methods.
//
// Argument kinds: 'image' (one image source: DOM sources become a transferred ImageBitmap),
// 'images' (an array of them, or embeddings), 'track' (frames for liveness: an array of images,
// one image, or a <video> sampled on the page as the options that follow it say), 'pairs' (calibration pairs of images or
// embeddings), 'value' (anything else, structured-cloned).
// `model: true` marks methods whose result is the new model info, kept on the instance.

export const VERIFIER_METHODS = {
  embed: { args: ['image', 'value'] },
  embedBatch: { args: ['images', 'value'] },
  embedRaw: { args: ['images'] },
  detect: { args: ['image'] },
  alignedFace: { args: ['image', 'value'] },
  liveness: { args: ['track', 'value'] },
  landmarks: { args: ['image'] },
  // The two halves of `challenge` (challenge.js runs its loop on the page in both modes).
  _challengeStart: { args: ['value'] },
  _challengeFrame: { args: ['value', 'image', 'value'] },
  verify: { args: ['image', 'image', 'value'] },
  calibrate: { args: ['pairs', 'value'] },
  resetCalibration: { args: [] },
  exportTuned: { args: [] },
  importTuned: { args: ['value'], model: true },
  resetModel: { args: [], model: true },
  backendChosen: { args: [] },
};

export const GALLERY_METHODS = {
  enroll: { args: ['value', 'images', 'value'] },
  identify: { args: ['image', 'value'] },
  migrate: { args: [] },
  remove: { args: ['value'] },
  list: { args: [] },
  size: { args: [] },
  templateCount: { args: [] },
  toBytes: { args: ['value'] },
};

/** Methods outside the tables, with their own protocol: `fineTune` (progress and cancel cross
 * the boundary), `challenge` (a loop on the page over the two `_challenge…` methods),
 * `createGallery`, `dispose` and the static ones. */
export const SPECIAL_METHODS = ['fineTune', 'challenge', 'createGallery', 'dispose'];
