// Vite needs nothing special for webverify in a production build. Its dev server pre-bundles
// dependencies into node_modules/.vite/deps, which would move the package's JavaScript away from
// its wasm/, models/ and worker.js (found with `new URL(…, import.meta.url)`): the package is
// left out of pre-bundling, so that it is served from its own folder.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  optimizeDeps: { exclude: ['webverify'] },
});
