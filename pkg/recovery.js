// Recovery from a trap of the wasm instance. A Rust panic or an allocation failure traps the
// instance (`WebAssembly.RuntimeError`); its memory may then hold half-done state (a borrowed
// engine, a held lock), so nothing in it can be trusted again. Inline, this thread keeps going
// on a fresh instance of the same compiled module: the calls in flight fail with INTERNAL, the
// next call re-instantiates the module and each Verifier rebuilds its engine (model, tuned
// weights and calibration restored: engine-host.js). The same happens in the worker, where the
// host runs the same code; only a worker that dies outright is restarted (transport.js).
//
// A trap inside an async engine call happens in a microtask of wasm-bindgen-futures, not in
// our call: its promise would never settle. The global error listener sees it and fails every
// call in flight, so nothing hangs.
import { WebverifyError } from './errors.js';

function isTrap(e) {
  return typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError;
}

/** The error the calls in flight get. `trapped` tells worker.js to say so to the client. */
function trapError(e) {
  const err = new WebverifyError('INTERNAL', `the engine crashed (${e?.message ?? e}); the calls in flight failed and the engine restarts with the same model, tuned weights and calibration`, { cause: e });
  err.trapped = true;
  return err;
}

function barrier() {
  let reject;
  const promise = new Promise((_, r) => { reject = r; });
  promise.catch(() => {});
  return { promise, reject };
}

let current = barrier();
let trapped = null;
let recovering = null;
/** Bumped by each re-instantiation: engines and galleries of an older generation are dead. */
let generation = 0;
let watching = false;
/** The wasm-bindgen glue of every module this thread loaded (loading.js: `cpu`, `gpu`, `full`). A trap
 * does not say which instance trapped, so all are re-instantiated. */
const glues = new Set();

export function currentGeneration() {
  return generation;
}

/** True from a trap until the next call has made a fresh instance. */
export function instanceDead() {
  return trapped !== null;
}

/** Marks the instance dead and fails every call in flight (once per trap). */
function reportTrap(e) {
  if (trapped) return trapped;
  trapped = trapError(e);
  current.reject(trapped);
  return trapped;
}

/**
 * Listens for traps that escape our calls (in wasm-bindgen-futures' microtasks) of the module
 * behind `glue` (`watchTraps()` without it in worker.js, before any load, sets `handled`: the
 * worker answers for the trap, so the event is not passed on to the page as a worker error).
 */
export function watchTraps(loaded, { handled = false } = {}) {
  if (loaded) glues.add(loaded);
  if (watching || typeof globalThis.addEventListener !== 'function') return;
  watching = true;
  const seen = (event, e) => {
    if (!isTrap(e)) return;
    reportTrap(e);
    if (handled) event.preventDefault();
  };
  globalThis.addEventListener('error', (event) => seen(event, event.error));
  globalThis.addEventListener('unhandledrejection', (event) => seen(event, event.reason));
}

/**
 * Runs `call` (an engine call) so that a trap during it, or anywhere in this thread while it
 * is in flight, rejects it instead of leaving it pending. When the instance is dead, a fresh
 * one is made first (once, for every caller waiting).
 */
export async function guarded(call) {
  if (trapped) {
    recovering ??= Promise.all([...glues].map(reinstantiate)).then(() => {
      generation += 1;
      trapped = null;
      current = barrier();
    }).finally(() => { recovering = null; });
    await recovering;
  }
  const mine = current.promise;
  try {
    return await Promise.race([call(), mine]);
  } catch (e) {
    throw isTrap(e) ? reportTrap(e) : e;
  }
}

/**
 * The guard of every engine method of Verifier and Gallery (`guardMethods`' `around`): the
 * call runs under `guarded`, after `target._current()` (a new engine after a trap or a lost
 * GPU, or the WebGPU engine `auto` moved to), between `target._begin()` and `target._end()`,
 * and its errors pass through `target._failed` (a lost GPU moves the verifier to the CPU, where
 * the call is retried once).
 */
export function aroundEngine(target, call, retry = true) {
  return guarded(async () => {
    for (let attempt = 0; ; attempt += 1) {
      const rebuilding = target._current();
      if (rebuilding) await rebuilding;
      // Counted, so that an engine is swapped (auto's move to WebGPU) only between calls.
      target._begin();
      try {
        return await call();
      } catch (e) {
        const err = target._failed(e);
        // A lost GPU moved the verifier to the CPU: the call runs again there, once (its
        // inputs are still the caller's; a call that failed on the GPU changed nothing).
        if (!(retry && err.movedToCpu && attempt === 0)) throw err;
      } finally {
        target._end();
      }
    }
  });
}

/** `aroundEngine` without the retry on the CPU: for fine-tuning, whose run on the CPU would take
 * minutes the caller did not ask for. */
export function aroundEngineOnce(target, call) {
  return aroundEngine(target, call, false);
}

/**
 * A fresh instance of the module behind wasm-bindgen's glue `glue` (made with
 * `--experimental-reset-state-function`). The glue's own reset instantiates synchronously,
 * which Chromium refuses on a page's main thread for modules over 8 MB; so the module and
 * imports are caught from a first reset, instantiated asynchronously, and handed to a second.
 */
async function reinstantiate(glue) {
  const { Instance } = WebAssembly;
  let made = null;
  const caught = new Error('caught');
  try {
    WebAssembly.Instance = function (module, imports) { made = { module, imports }; throw caught; };
    glue.__wbg_reset_state();
  } catch (e) {
    if (e !== caught) throw e;
  } finally {
    WebAssembly.Instance = Instance;
  }
  if (!made) throw new WebverifyError('INTERNAL', 'the wasm glue did not re-instantiate the module');
  const instance = await WebAssembly.instantiate(made.module, made.imports);
  try {
    WebAssembly.Instance = function () { return instance; };
    glue.__wbg_reset_state();
  } finally {
    WebAssembly.Instance = Instance;
  }
}
