// A production build needs nothing special: Vite finds `new URL('./…', import.meta.url)` (the
// wasm modules, the weights, the training module) and `new Worker(new URL('./worker.js',
// import.meta.url), { type: 'module' })` in both packages and emits those files. The dev server
// pre-bundles dependencies into node_modules/.vite/deps, which would move the packages'
// JavaScript away from their files: both are left out of pre-bundling, so that each is served
// from its own folder.
import { defineConfig } from 'vite';

export default defineConfig({
  optimizeDeps: { exclude: ['webverify', 'webverify-training'] },
});
