// The module worker behind the default Verifier: it runs the host (host.js, the same code
// inline mode calls directly) off the page's main thread and answers transport.js's messages
// `{ id, target, args }` with `{ id, reply }` or `{ id, error: { code, message, backend, engine } }`,
// and a long job's progress with `{ progress: job, value }`.
import { Host } from './host.js';
import { closeBitmaps } from './input.js';
import { watchTraps } from './recovery.js';

// A trap of the wasm instance is answered here (the calls in flight fail with INTERNAL and the
// next call rebuilds the engine: recovery.js), not passed on to the page as a worker error.
watchTraps(undefined, { handled: true });

const host = new Host();

self.onmessage = async ({ data: { id, target, args, job } }) => {
  const progress = (value) => self.postMessage({ progress: job, value });
  try {
    const reply = await host.call(target, args, progress);
    // Embeddings and crops go back without a copy.
    const transfer = new Set();
    const collect = (x) => {
      if (ArrayBuffer.isView(x)) transfer.add(x.buffer);
      else if (x?.data?.buffer) transfer.add(x.data.buffer);
    };
    const { result } = reply;
    if (Array.isArray(result)) result.forEach(collect); else collect(result);
    if (result?.losses) collect(result.losses);
    if (Array.isArray(result?.crops)) result.crops.forEach(collect);
    self.postMessage({ id, reply }, [...transfer]);
  } catch (err) {
    self.postMessage({ id, error: { code: err.code, message: err.message, backend: err.backend, engine: err.engine } });
  } finally {
    // The images came by transfer: this worker owns them, and nothing reads them after the call.
    closeBitmaps(args);
  }
};
