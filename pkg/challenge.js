// Challenge liveness on the page: the loop that takes frames of a playing <video> and hands
// each to the engine, which decides (src/liveness/challenge.rs). It runs on the page in both
// modes — a worker cannot read a <video> — through the engine's two protocol methods
// `_challengeStart` and `_challengeFrame`, which the Verifier hands in as `start` and `frame`.
import { WebverifyError } from './errors.js';
import { options, snapshot, videoGone } from './input.js';

/**
 * Runs a challenge on `video` with the engine's `{ start(options), frame(state, image, tMs) }`
 * (whatever the transport): resolves to the final
 * status once every motion passed, one failed or time ran out. `onProgress(status)` after
 * each frame (with `seen`: what the frame showed); `signal` aborts between frames.
 */
export async function runChallenge(engine, video, opts) {
  const { intervalMs = 80, onProgress, signal, ...start } = options(opts, 'challenge');
  if (typeof HTMLVideoElement === 'undefined' || !(video instanceof HTMLVideoElement)) {
    throw new WebverifyError('INVALID_INPUT', 'challenge needs a playing <video> (the camera)');
  }
  if (!(Number.isFinite(intervalMs) && intervalMs >= 0)) {
    throw new WebverifyError('INVALID_INPUT', `intervalMs must be a non-negative number, not ${intervalMs}`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new WebverifyError('INVALID_INPUT', 'onProgress must be a function');
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new WebverifyError('INVALID_INPUT', 'signal must be an AbortSignal');
  }
  if (!video.videoWidth || !video.videoHeight) {
    throw new WebverifyError('INVALID_INPUT', 'the video has no frame yet (is it playing?)');
  }
  // URL objects cannot cross to a worker; their text can.
  const plain = Object.fromEntries(Object.entries(start).map(([k, v]) => [k, v instanceof URL ? v.href : v]));
  let { state, status } = await engine.start(plain);
  onProgress?.({ ...status, seen: null });
  const t0 = performance.now();
  for (;;) {
    if (signal?.aborted) throw new WebverifyError('ABORTED', 'the challenge was aborted');
    // A challenge times motions on live frames: a page in the background (its camera stopped or
    // frozen, its timers slowed) or a stopped camera ends it rather than failing the person.
    const gone = videoGone(video);
    if (gone) throw new WebverifyError('ABORTED', `the challenge stopped: ${gone}; start it again`);
    const t = performance.now() - t0;
    const frame = await snapshot(video);
    let seen;
    try {
      ({ state, status, seen } = await engine.frame(state, frame, t));
    } finally {
      frame.close?.();
    }
    onProgress?.({ ...status, seen });
    if (status.done) return status;
    const wait = intervalMs - (performance.now() - t0 - t);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
