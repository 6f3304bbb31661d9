// Loading what the engine needs: the wasm module (once per thread), the weights (with download
// progress, from a URL, the bytes, or in Node.js a file: URL), and the WebGPU probe.
import init from './wasm/webverify.js';
import { WebverifyError } from './errors.js';

export const DEFAULT_MODEL_URL = new URL('./models/mobilefacenet.safetensors', import.meta.url);
export const DEFAULT_DETECTOR_URL = new URL('./models/blazeface-short.safetensors', import.meta.url);

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
// A variable, not a literal: bundlers for the browser then leave Node's module alone.
const NODE_FS = 'node:fs/promises';

/** Where the wasm module comes from: the given URL, or in Node.js the file's bytes (Node's
 * fetch cannot read file: URLs). */
async function wasmSource(wasmUrl) {
  if (wasmUrl) return { module_or_path: wasmUrl };
  if (!isNode) return undefined;
  const { readFile } = await import(/* @vite-ignore */ NODE_FS);
  return { module_or_path: await readFile(new URL('./wasm/webverify_bg.wasm', import.meta.url)) };
}

let wasmReady = null;
export function loadWasm(wasmUrl) {
  wasmReady ??= wasmSource(wasmUrl).then((source) => init(source)).catch((e) => {
    wasmReady = null;
    throw new WebverifyError('BACKEND_UNAVAILABLE', `the WebAssembly module failed to load: ${e.message ?? e}`, { cause: e });
  });
  return wasmReady;
}

export async function fetchWeights(modelUrl, report = () => {}) {
  if (modelUrl instanceof ArrayBuffer || ArrayBuffer.isView(modelUrl)) {
    return new Uint8Array(modelUrl.buffer ?? modelUrl, modelUrl.byteOffset ?? 0, modelUrl.byteLength);
  }
  let response;
  try {
    if (isNode && String(modelUrl).startsWith('file:')) {
      const { readFile } = await import(/* @vite-ignore */ NODE_FS);
      return new Uint8Array(await readFile(new URL(String(modelUrl))));
    }
    response = await fetch(modelUrl);
  } catch (e) {
    throw new WebverifyError('MODEL_LOAD', `cannot fetch the model from ${modelUrl}: ${e.message ?? e}`, { cause: e });
  }
  if (!response.ok) {
    throw new WebverifyError('MODEL_LOAD', `fetching the model from ${modelUrl} gave HTTP ${response.status}; check modelUrl`);
  }
  // Read as a stream to report progress (total: 0 when the server sends no length).
  const total = Number(response.headers.get('content-length')) || 0;
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

/** Why WebGPU cannot be used here, or null when an adapter is available. */
export async function webgpuUnavailableReason() {
  if (typeof navigator === 'undefined' || !navigator.gpu) return 'navigator.gpu is missing';
  try {
    const adapter = await navigator.gpu.requestAdapter();
    return adapter ? null : 'navigator.gpu.requestAdapter() returned no adapter';
  } catch (e) {
    return `requestAdapter failed: ${e.message ?? e}`;
  }
}
