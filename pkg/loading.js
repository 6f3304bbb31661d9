// Loading what the engine needs: the wasm module (once per thread), the weights (with download
// progress, from a URL, the bytes, or in Node.js a file: URL), and the WebGPU probe.
import * as cpuGlue from './wasm/webverify_cpu.js';
import * as gpuGlue from './wasm/webverify_gpu.js';
import * as fullGlue from './wasm/webverify.js';
import { cachedBytes, cachedResponse, forget, keepBytes, keepResponse } from './cache.js';
import { WebverifyError } from './errors.js';
import { FILE_SIZES } from './file-sizes.js';
import { hasRelaxedSimd, requireWasm } from './support.js';
import { PACKAGE_VERSION } from './version.js';

/** The shipped embedder: MobileFaceNet with int8 weights (1.4 MB; the f32 file, 5.2 MB, is in
 * the companion package webverify-training as its `F32_MODEL_URL`). LFW View 1 DevTest accuracy
 * and EER are within the fold noise of f32 (docs/ACCURACY.md, "Weights formats"). */
export const DEFAULT_MODEL_URL = new URL('./models/mobilefacenet-int8.safetensors', import.meta.url);
export const DEFAULT_DETECTOR_URL = new URL('./models/blazeface-short.safetensors', import.meta.url);
/** MediaPipe Face Mesh (f16), loaded by `alignment: 'mesh'`. */
export const DEFAULT_MESH_URL = new URL('./models/facemesh.safetensors', import.meta.url);
/** The passive liveness model (MiniFASNet V1SE, f16), fetched on the first `liveness()` call. */
export const DEFAULT_LIVENESS_URL = new URL('./models/minifasnet-v1se-f16.safetensors', import.meta.url);

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
// A variable, not a literal: bundlers for the browser then leave Node's module alone.
const NODE_FS = 'node:fs/promises';

/** How long a download may go without receiving anything (headers or bytes) before it fails
 * with MODEL_LOAD: a server that accepts the connection and never answers must not hang
 * `create()` forever. Per stall, not per file, so a slow but moving download is not cut. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The engine comes as three modules, so that a page downloads only what it runs: `cpu` (burn's
 * Flex backend: embedding, detection, galleries; no WebGPU, no training), `gpu` (WebGPU and
 * Flex, no training) and `full` (WebGPU, Flex and the training code), which a verifier loads
 * only on its first `fineTune`. The `cpu` and `full` modules have two builds of the same Rust
 * code, one with relaxed SIMD (the CPU kernels' fused multiply-add; Chrome 114+), one with
 * plain SIMD128 for every other current browser; the `gpu` module, whose work is on the GPU, has
 * the plain one only (the package's size budget, docs/BENCHMARKS.md "Package size"). The two
 * builds of a module share one wasm-bindgen glue (the Makefile checks that they would get the
 * same one), so a thread runs one build of each module. The glues are imported statically
 * (only the .wasm files a thread needs are fetched): a dynamic import would split the worker's
 * bundle, which bundlers' default worker format (Vite's iife) refuses. The `full` module's
 * .wasm files are not in this package but in webverify-training (`training` option). */
const GLUES = { cpu: cpuGlue, gpu: gpuGlue, full: fullGlue };
const MODULES = {
  cpu: {
    'relaxed-simd': new URL('./wasm/relaxed/webverify_cpu_bg.wasm', import.meta.url),
    simd: new URL('./wasm/webverify_cpu_bg.wasm', import.meta.url),
  },
  gpu: {
    simd: new URL('./wasm/webverify_gpu_bg.wasm', import.meta.url),
  },
};
export const WASM_BUILDS = ['auto', 'relaxed-simd', 'simd'];

/** The same files by their path in the package, for `assetsUrl` (a copy of the package's files
 * served elsewhere: a CDN, a static folder). The literal URLs above stay for bundlers, which
 * find and emit the files they name. */
const MODULE_PATHS = {
  cpu: { 'relaxed-simd': 'wasm/relaxed/webverify_cpu_bg.wasm', simd: 'wasm/webverify_cpu_bg.wasm' },
  gpu: { simd: 'wasm/webverify_gpu_bg.wasm' },
};

/** The `training` option (webverify-training's `training` export): checked, with its URLs as
 * text, or undefined when not given. Its version must be this package's: the full module's glue
 * is here, and a glue of another build cannot link the module. */
export function trainingModule(training) {
  if (training === undefined || training === null) return undefined;
  const url = (v) => (v instanceof URL ? v.href : v);
  if (typeof training !== 'object' || typeof url(training.simd) !== 'string' || typeof url(training['relaxed-simd']) !== 'string') {
    throw new WebverifyError('INVALID_INPUT', "training must be webverify-training's `training` export: import { training } from 'webverify-training'");
  }
  if (training.version !== PACKAGE_VERSION) {
    throw new WebverifyError('INVALID_INPUT', `webverify-training ${training.version} does not match webverify ${PACKAGE_VERSION}: install webverify-training@${PACKAGE_VERSION}`);
  }
  return { version: training.version, simd: url(training.simd), 'relaxed-simd': url(training['relaxed-simd']) };
}

/** The weights files' URLs: the package's own, or under `assetsUrl`. */
export function defaultFiles(assetsUrl) {
  if (!assetsUrl) return { model: DEFAULT_MODEL_URL, detector: DEFAULT_DETECTOR_URL, mesh: DEFAULT_MESH_URL, liveness: DEFAULT_LIVENESS_URL };
  const at = (file) => new URL(`models/${file}`, assetsUrl);
  return {
    model: at('mobilefacenet-int8.safetensors'), detector: at('blazeface-short.safetensors'),
    mesh: at('facemesh.safetensors'), liveness: at('minifasnet-v1se-f16.safetensors'),
  };
}

/** The build of module `kind` to run: `auto` is relaxed-simd where validated, else simd; the
 * `gpu` module and a custom `wasmUrl` (a build of the full module) are simd whatever is asked. */
function chooseBuild(kind, wasmBuild = 'auto', wasmUrl) {
  if (!WASM_BUILDS.includes(wasmBuild)) {
    throw new WebverifyError('INVALID_INPUT', `wasmBuild must be one of ${WASM_BUILDS.join(', ')}, not '${wasmBuild}'`);
  }
  requireWasm();
  if (wasmBuild === 'relaxed-simd' && !hasRelaxedSimd()) {
    throw new WebverifyError('BACKEND_UNAVAILABLE', 'this browser does not support WebAssembly relaxed SIMD; use wasmBuild \'auto\' or \'simd\'');
  }
  if (wasmUrl || kind === 'gpu') return 'simd';
  if (wasmBuild === 'auto') return hasRelaxedSimd() ? 'relaxed-simd' : 'simd';
  return wasmBuild;
}

/** Where module `kind`'s `build` is: under `assetsUrl`, the package's own file, or for the full
 * module the `training` option's (BACKEND_UNAVAILABLE without it). */
function moduleUrl(kind, build, { assetsUrl, training }) {
  if (kind === 'full') {
    if (!training) {
      throw new WebverifyError('BACKEND_UNAVAILABLE', `fine-tuning needs the training module, which is in the companion package webverify-training: npm install webverify-training@${PACKAGE_VERSION}, then Verifier.create({ training }) with import { training } from 'webverify-training'`);
    }
    return new URL(training[build]);
  }
  return assetsUrl ? new URL(MODULE_PATHS[kind][build], assetsUrl) : MODULES[kind][build];
}

/** This package's folder (after a bundler, the folder its files were emitted to). */
const PACKAGE_ROOT = new URL('./', import.meta.url).href;

/** The length of the body `fetch` will give for `url`, or 0 when unknown: a compressed answer's
 * content-length counts the compressed bytes, and the body is read decompressed; for the
 * package's own files the size is known beforehand (file-sizes.js). */
function bodyLength(response, url) {
  const encoding = response.headers.get('content-encoding');
  if (!encoding || encoding === 'identity') {
    const length = Number(response.headers.get('content-length'));
    if (length) return length;
  }
  const href = String(url);
  return href.startsWith(PACKAGE_ROOT) ? FILE_SIZES[href.slice(PACKAGE_ROOT.length)] ?? 0 : 0;
}

/**
 * `fetch(url)` whose response body is watched: it fails with MODEL_LOAD when nothing arrives
 * for `timeoutMs`, when the server answers with an error status or the connection drops half
 * way, and with ABORTED when `signal` aborts. `what` names the file in messages; `onBytes(loaded,
 * total)` follows the body (total 0 when the server sends no length).
 */
export async function fetchWatched(url, { signal, timeoutMs = DEFAULT_TIMEOUT_MS, what, onBytes }) {
  const controller = new AbortController();
  let timedOut = false;
  let timer;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { timedOut = true; controller.abort(); }, timeoutMs);
  };
  const onAbort = () => controller.abort();
  const finish = () => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); };
  const failure = (e) => {
    if (signal?.aborted) return new WebverifyError('ABORTED', `loading ${what} was aborted`, { cause: e });
    if (timedOut) return new WebverifyError('MODEL_LOAD', `loading ${what} from ${url}: nothing received for ${timeoutMs} ms (timeoutMs); check the URL and the network`, { cause: e });
    return new WebverifyError('MODEL_LOAD', `loading ${what} from ${url} failed: ${e?.message ?? e} (connection dropped or refused)`, { cause: e });
  };
  if (signal?.aborted) throw failure(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  arm();
  let response;
  try {
    response = await fetch(url, { signal: controller.signal });
  } catch (e) {
    finish();
    throw failure(e);
  }
  if (!response.ok) {
    finish();
    throw new WebverifyError('MODEL_LOAD', `fetching ${what} from ${url} gave HTTP ${response.status}; check the URL`);
  }
  if (!response.body) {
    finish();
    return response;
  }
  const reader = response.body.getReader();
  const total = bodyLength(response, url);
  let loaded = 0;
  arm();
  const body = new ReadableStream({
    async pull(out) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          finish();
          out.close();
        } else {
          arm();
          loaded += value.length;
          onBytes?.(loaded, total);
          out.enqueue(value);
        }
      } catch (e) {
        finish();
        out.error(failure(e));
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** Where the wasm module comes from: the Cache API (`cache`, default on), else a watched fetch
 * of the given or default URL, kept in the cache as it streams (compiled while it streams either
 * way: wasm-bindgen hands a Response to `instantiateStreaming`), or in Node.js the file's
 * bytes of a file: URL (Node's fetch cannot read those). */
async function wasmSource(url, watch, what) {
  if (isNode && String(url).startsWith('file:')) {
    const { readFile } = await import(/* @vite-ignore */ /* webpackIgnore: true */ NODE_FS);
    return { source: { module_or_path: await readFile(new URL(String(url))) } };
  }
  const hit = watch.cache === false ? undefined : await cachedResponse(url);
  if (hit) {
    const size = Number(hit.headers.get('content-length')) || 0;
    watch.onBytes?.(size, size);
    return { source: { module_or_path: hit }, cached: true };
  }
  const response = await fetchWatched(url, { ...watch, what });
  // Written while the module compiles; awaited after it (a worker ended right after `create`
  // would otherwise lose the write).
  const kept = watch.cache !== false ? keepResponse(url, response) : undefined;
  return { source: { module_or_path: response }, kept };
}

/** Per module (`cpu`, `gpu`, `full`): the promise of its initialised glue, and its build. */
const ready = new Map();
const loadedBuilds = new Map();

/** The module a verifier runs in: `gpu` for WebGPU, `cpu` otherwise, and `full` for any
 * backend when a custom `wasmUrl` is given (that is one module with everything). */
export function moduleFor(backend, wasmUrl) {
  if (wasmUrl) return 'full';
  return backend === 'webgpu' ? 'gpu' : 'cpu';
}

/** Loads the engine's wasm module `kind` (`cpu`, `gpu` or `full`) once per thread and resolves to its
 * bindings (the glue module, initialised), the build's name and the module's kind; `watch` is
 * `{ signal, timeoutMs }`, `wasmBuild` is `auto`, `relaxed-simd` or `simd`; `sources` says where
 * the files are when not beside this module: `assetsUrl` (a folder URL from `assetsBase`) and
 * `training` (from `trainingModule`: the full module's builds). Concurrent callers share the
 * first one's download: when that caller aborts, the others start their own. A thread holds one
 * build of each module (its glue instantiates one): asking for the other one afterwards is
 * INVALID_INPUT. */
export async function loadWasm(kind, wasmUrl, watch = {}, wasmBuild = 'auto', sources = {}) {
  const build = chooseBuild(kind, wasmBuild, wasmUrl);
  const held = loadedBuilds.get(kind);
  if (held && held !== build) {
    throw new WebverifyError('INVALID_INPUT', `this thread already runs the ${held} build of the engine's ${kind} module; one thread holds one build of each`);
  }
  if (!ready.has(kind)) {
    const glue = GLUES[kind];
    const from = wasmUrl ?? moduleUrl(kind, build, sources);
    const what = { cpu: 'the WebAssembly module', gpu: 'the WebAssembly module (WebGPU)', full: 'the WebAssembly module (training)' }[kind];
    loadedBuilds.set(kind, build);
    ready.set(kind, (async () => {
      const { source, cached, kept } = await wasmSource(from, watch, what);
      try {
        await glue.default(source);
        await kept;
      } catch (e) {
        if (!cached) throw e;
        // A cached module that does not compile: dropped, and downloaded again.
        await forget(from);
        await glue.default((await wasmSource(from, { ...watch, cache: false }, what)).source);
      }
      return { wasm: glue, build, kind };
    })().catch((e) => {
      ready.delete(kind);
      loadedBuilds.delete(kind);
      if (e instanceof WebverifyError) throw e;
      throw new WebverifyError('BACKEND_UNAVAILABLE', `the WebAssembly module failed to load: ${e.message ?? e}`, { cause: e });
    }));
  }
  try {
    return await ready.get(kind);
  } catch (e) {
    if (e.code === 'ABORTED' && !watch.signal?.aborted) return loadWasm(kind, wasmUrl, watch, wasmBuild, sources);
    throw e;
  }
}

/** The bytes of a weights file: given as bytes, a URL (watched, with progress; from the Cache API
 * when kept there intact, and kept there after a download, unless `watch.cache` is false), or in
 * Node.js a file: URL. `watch` is `{ signal, timeoutMs, cache }`. */
export async function fetchWeights(modelUrl, report = () => {}, watch = {}, what = 'the model') {
  if (modelUrl instanceof ArrayBuffer || ArrayBuffer.isView(modelUrl)) {
    return new Uint8Array(modelUrl.buffer ?? modelUrl, modelUrl.byteOffset ?? 0, modelUrl.byteLength);
  }
  if (isNode && String(modelUrl).startsWith('file:')) {
    const { readFile } = await import(/* @vite-ignore */ /* webpackIgnore: true */ NODE_FS);
    try {
      return new Uint8Array(await readFile(new URL(String(modelUrl))));
    } catch (e) {
      throw new WebverifyError('MODEL_LOAD', `cannot read ${what} from ${modelUrl}: ${e.message}`, { cause: e });
    }
  }
  const hit = watch.cache === false ? null : await cachedBytes(modelUrl);
  if (hit) {
    report(hit.length, hit.length);
    return hit;
  }
  const bytes = await download(modelUrl, report, watch, what);
  if (watch.cache !== false) await keepBytes(modelUrl, bytes);
  return bytes;
}

async function download(modelUrl, report, watch, what) {
  const response = await fetchWatched(modelUrl, { ...watch, what });
  // Read as a stream to report progress (total: 0 when the server sends no length).
  const total = bodyLength(response, modelUrl);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    report(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) { bytes.set(c, offset); offset += c.length; }
  return bytes;
}

/** What WebGPU offers here: `unavailable`, why it cannot be used (null when an adapter is
 * available), and `software`, a name for the adapter when it is a fallback (software) one such
 * as SwiftShader (null for hardware), which `auto` skips: the CPU kernels are faster than a GPU
 * emulated on the CPU (about 13 ms against 1 400 ms per face measured, docs/BENCHMARKS.md). */
export async function probeWebgpu() {
  if (typeof navigator === 'undefined' || !navigator.gpu) return { unavailable: 'navigator.gpu is missing', software: null };
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { unavailable: 'navigator.gpu.requestAdapter() returned no adapter', software: null };
    // `info.isFallbackAdapter` since Chrome 136; `adapter.isFallbackAdapter` before.
    const info = adapter.info ?? {};
    const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    const name = [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unnamed';
    return { unavailable: null, software: fallback ? name : null };
  } catch (e) {
    return { unavailable: `requestAdapter failed: ${e.message ?? e}`, software: null };
  }
}
