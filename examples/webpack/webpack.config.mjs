// webpack 5 needs no loader for webverify: it finds `new URL('./…', import.meta.url)` (the wasm
// modules, the weights) and `new Worker(new URL('./worker.js', import.meta.url), { type:
// 'module' })` in the package and emits those files itself. Two settings matter: module output
// (the package and its worker are ES modules, and the worker imports its chunks as modules) and
// asset/resource for .wasm and .safetensors (the package fetches and compiles them itself; webpack
// must not try to instantiate the .wasm as a WebAssembly module of its own).
import { fileURLToPath } from 'node:url';

export default {
  entry: './src/main.js',
  output: {
    path: fileURLToPath(new URL('./dist', import.meta.url)),
    module: true,
    chunkFormat: 'module',
    clean: true,
  },
  experiments: { outputModule: true },
  module: {
    rules: [{ test: /\.(wasm|safetensors)$/, type: 'asset/resource' }],
  },
  performance: { hints: false },
};
