// Every image type the package accepts, turned into pixels (inline mode) or into something
// that can be posted to the worker (worker mode), with the transfer rules in one place.
import { WebverifyError } from './errors.js';

const DRAWABLE = ['HTMLImageElement', 'HTMLCanvasElement', 'HTMLVideoElement', 'ImageBitmap', 'OffscreenCanvas', 'VideoFrame'];

const isDrawable = (input) => DRAWABLE.some((name) => typeof globalThis[name] !== 'undefined' && input instanceof globalThis[name]);

let scratch = null;
function canvas2d(width, height) {
  if (typeof OffscreenCanvas !== 'undefined') {
    scratch ??= new OffscreenCanvas(1, 1);
  } else if (typeof document !== 'undefined') {
    scratch ??= document.createElement('canvas');
  } else {
    throw new WebverifyError('INVALID_INPUT', 'this environment has no canvas; pass { data, width, height } pixels');
  }
  scratch.width = width;
  scratch.height = height;
  return scratch.getContext('2d', { willReadFrequently: true });
}

function sourceSize(input) {
  if (typeof HTMLVideoElement !== 'undefined' && input instanceof HTMLVideoElement) return [input.videoWidth, input.videoHeight];
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement) return [input.naturalWidth, input.naturalHeight];
  if (typeof VideoFrame !== 'undefined' && input instanceof VideoFrame) return [input.displayWidth, input.displayHeight];
  return [input.width, input.height];
}

/** The options argument of a public method: `undefined` means none; anything but a plain
 * object (including `null`) is INVALID_INPUT rather than a TypeError from destructuring. */
export function options(value, method) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WebverifyError('INVALID_INPUT', `the options of ${method} must be an object or left out, not ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

/** True when `buffer` (an ArrayBuffer) was transferred elsewhere and can no longer be read. */
function isDetached(buffer) {
  if (typeof buffer.detached === 'boolean') return buffer.detached;
  try {
    // Engines without ArrayBuffer.prototype.detached: slicing a detached buffer throws.
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

/** Throws INVALID_INPUT for what cannot be posted to the worker or read any more: functions,
 * symbols and detached buffers anywhere in `value` (arrays and plain objects are walked; the
 * walk stops at cycles). A raw DataCloneError, or a message the worker never answers, is what
 * the caller would get otherwise. */
export function checkPostable(value, what, seen = new Set()) {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new WebverifyError('INVALID_INPUT', `${what} holds a ${typeof value}, which cannot be passed to the engine`);
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const buffer = value instanceof ArrayBuffer ? value : ArrayBuffer.isView(value) ? value.buffer : null;
  if (buffer) {
    if (buffer instanceof ArrayBuffer && isDetached(buffer)) {
      throw new WebverifyError('INVALID_INPUT', `${what} uses an ArrayBuffer that was detached (transferred elsewhere); pass a copy`);
    }
    return;
  }
  if (isDrawable(value)) return;
  for (const v of Array.isArray(value) ? value : Object.values(value)) checkPostable(v, what, seen);
}

/** Pixels of any supported input as { data: Uint8Array, width, height, channels }. */
export function toPixels(input) {
  if (input == null || typeof input !== 'object') {
    throw new WebverifyError('INVALID_INPUT', `expected an image, canvas, video, ImageData or { data, width, height }, got ${input}`);
  }
  if (isDrawable(input)) {
    const [width, height] = sourceSize(input);
    if (!width || !height) {
      throw new WebverifyError('INVALID_INPUT', `the ${input.constructor.name} is ${width}x${height}: wait until it has loaded (video: 'loadeddata')`);
    }
    const ctx = canvas2d(width, height);
    ctx.drawImage(input, 0, 0, width, height);
    const { data } = ctx.getImageData(0, 0, width, height);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 4 };
  }
  // ImageData or a plain { data, width, height }: channels follow from the buffer length.
  const { data, width, height } = input;
  // Bytes only: a Float32Array of 0–1 values (or anything else array-like) used to be read as
  // bytes without a word. Converting is the caller's choice of range, so it is refused.
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    const kind = data?.constructor?.name ?? typeof data;
    throw new WebverifyError('INVALID_INPUT', `pixel data must be a Uint8Array or Uint8ClampedArray of 0–255 values, not ${kind}; scale and convert float pixels first`);
  }
  if (isDetached(data.buffer)) {
    throw new WebverifyError('INVALID_INPUT', 'the pixel data\'s ArrayBuffer was detached (transferred elsewhere); pass a copy');
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new WebverifyError('INVALID_INPUT', `expected { data, width, height } with non-negative integer width and height, got ${width}x${height}`);
  }
  const pixels = width * height;
  const channels = pixels > 0 ? data.length / pixels : 0;
  if (pixels > 0 && ![1, 3, 4].includes(channels)) {
    throw new WebverifyError('INVALID_INPUT', `${data.length} bytes for ${width}x${height} pixels: expected RGBA (${pixels * 4}), RGB (${pixels * 3}) or grey (${pixels})`);
  }
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { data: bytes, width, height, channels: channels || 4 };
}

/** Images packed for the engine: all pixels one after another, and per image
 * `[width, height, channels, stride]` (stride 0: packed rows). */
export function pack(inputs) {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new WebverifyError('INVALID_INPUT', 'expected a non-empty array of images');
  }
  const all = inputs.map(toPixels);
  const total = all.reduce((n, p) => n + p.data.length, 0);
  const data = new Uint8Array(total);
  const shapes = new Uint32Array(all.length * 4);
  let offset = 0;
  all.forEach((p, i) => {
    data.set(p.data, offset);
    offset += p.data.length;
    shapes.set([p.width, p.height, p.channels, 0], i * 4);
  });
  return [data, shapes];
}

/** `input` ready to post to the worker: DOM sources become a transferred ImageBitmap;
 * embeddings, ImageData and pixel objects are copied by structured cloning (transferring
 * would detach the caller's buffer). */
async function postable(input, transfer) {
  if (input instanceof Float32Array || input == null || !isDrawable(input)) return input;
  let bitmap;
  try {
    bitmap = await createImageBitmap(input);
  } catch (e) {
    throw new WebverifyError('INVALID_INPUT', `cannot read pixels from the ${input.constructor.name}: ${e.message} (video: wait for 'loadeddata')`, { cause: e });
  }
  transfer.push(bitmap);
  return bitmap;
}

/** Why frames can no longer be taken from `video` (the page went to the background: a phone
 * stops or freezes its camera there, and timers slow down; or the camera's track ended), or
 * null. */
export function videoGone(video) {
  if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return 'the page went to the background';
  const tracks = video.srcObject?.getVideoTracks?.() ?? [];
  if (tracks.length > 0 && tracks.every((t) => t.readyState === 'ended')) return 'the camera stopped';
  if (video.ended) return 'the video ended';
  return null;
}

/** One frame of a playing `<video>`, to hand on: an ImageBitmap, or where createImageBitmap is
 * missing (inline mode only: worker mode needs it, support.js) a canvas holding the frame. */
export async function snapshot(video) {
  if (typeof createImageBitmap !== 'undefined') return createImageBitmap(video);
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  return canvas;
}

/** Frames of a face track for the liveness check: an array of images as given, one image as a
 * track of one, a playing `<video>` sampled `frames` times (default 5) every `intervalMs`
 * (default 100) as ImageBitmaps. */
export async function trackOf(input, { frames = 5, intervalMs = 100, signal } = {}) {
  if (Array.isArray(input)) {
    if (input.length === 0) throw new WebverifyError('INVALID_INPUT', 'liveness expects at least one frame');
    return input;
  }
  if (typeof HTMLVideoElement === 'undefined' || !(input instanceof HTMLVideoElement)) return [input];
  if (!Number.isInteger(frames) || frames < 1 || frames > 100) {
    throw new WebverifyError('INVALID_INPUT', `frames must be an integer from 1 to 100, not ${frames}`);
  }
  if (!(Number.isFinite(intervalMs) && intervalMs >= 0)) {
    throw new WebverifyError('INVALID_INPUT', `intervalMs must be a non-negative number, not ${intervalMs}`);
  }
  if (!input.videoWidth || !input.videoHeight) {
    throw new WebverifyError('INVALID_INPUT', 'the video has no frame yet (is it playing?)');
  }
  const track = [];
  for (let i = 0; i < frames; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const gone = signal?.aborted ? 'aborted' : videoGone(input);
    if (gone) {
      track.forEach((f) => f.close?.());
      throw new WebverifyError('ABORTED', `sampling the video stopped: ${gone}; run the check again once the camera plays`);
    }
    track.push(await snapshot(input));
  }
  return track;
}

/** One argument of the kind the protocol table names ('image', 'images', 'track', 'pairs',
 * 'value'), ready to post; what it transfers is pushed to `transfer`. `args` are the call's
 * arguments: a 'track' reads its sampling options from the one after it. */
export async function postArgument(kind, value, transfer, args = [], signal) {
  switch (kind) {
    case 'track': {
      // A video is sampled here, on the page: the worker cannot read a <video>.
      const track = await trackOf(value, { ...args[1], signal });
      return Promise.all(track.map((x) => postable(x, transfer)));
    }
    case 'image':
      return postable(value, transfer);
    case 'images':
      return Array.isArray(value) ? Promise.all(value.map((x) => postable(x, transfer))) : value;
    case 'pairs':
      return Array.isArray(value)
        ? Promise.all(value.map(async (p) => ({ a: await postable(p?.a, transfer), b: await postable(p?.b, transfer), same: p?.same })))
        : value;
    default:
      return value;
  }
}

/** Closes every ImageBitmap in `value` (arrays and plain objects walked): the frames the worker
 * received by transfer, or sampled from a video, once their call is done. An ImageBitmap holds
 * decoded pixels outside the JavaScript heap until it is closed or collected; a camera loop
 * makes about 12 a second, which need not wait for a collection. */
export function closeBitmaps(value, seen = new Set()) {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (typeof ImageBitmap !== 'undefined' && value instanceof ImageBitmap) {
    value.close();
    return;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Array.isArray(value) ? value : Object.values(value)) closeBitmaps(v, seen);
  }
}

/** A sealing key as bytes (the length is checked by the engine: at least 16). */
export function sealingKey(key) {
  if (key instanceof Uint8Array) return key;
  if (key instanceof ArrayBuffer) return new Uint8Array(key);
  throw new WebverifyError('INVALID_INPUT', 'a sealing key must be a Uint8Array or ArrayBuffer of at least 16 random bytes');
}

/** Gallery bytes as a Uint8Array (INVALID_INPUT for anything else). */
export function galleryBytes(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new WebverifyError('INVALID_INPUT', 'expected the gallery as a Uint8Array or ArrayBuffer');
}
