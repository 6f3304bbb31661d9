// The three sites the start-up benchmarks (load.mjs, mobile.mjs) open: ours (the built site)
// and the TF.js and ONNX Runtime Web pages from the peers' folder, each served as a static host
// would (gzip, `cache-control: public, max-age=3600`), and the two photos ours verifies.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED, SITE } from '../tests/browser/harness.mjs';
import { serve } from '../tools/serve.mjs';

const HOSTING = { compress: true, cacheControl: 'public, max-age=3600' };

/** The two reference photos (base64 PNG) ours verifies. */
export const PHOTOS = ['face_00_faceid.png', 'face_01_facematch_selected.png']
  .map((n) => readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64'));

/** Serves the three sites; `{ engines: { ours, tfjs, ort: { id, url(), cfg } }, close() }`. */
export async function peerSites(peersDir) {
  // TF.js's bench page loads every backend's bundle; this one only what the wasm run needs.
  const tfjsDir = join(peersDir, 'tfjs');
  writeFileSync(join(tfjsDir, 'load.html'), `<!doctype html><meta charset="utf-8"><title>tfjs load</title>
<script src="node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js"></script>
<script src="node_modules/@tensorflow/tfjs-converter/dist/tf-converter.min.js"></script>
<script src="node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js"></script>
<script src="bench.js"></script>
`);
  const servers = {
    ours: await serve(SITE, 0, '127.0.0.1', HOSTING),
    tfjs: await serve(tfjsDir, 0, '127.0.0.1', HOSTING),
    ort: await serve(join(peersDir, 'ort'), 0, '127.0.0.1', HOSTING),
  };
  const origin = (kind) => `http://127.0.0.1:${servers[kind].address().port}/`;
  return {
    engines: {
      ours: { id: 'webverify (cpu module, int8 weights)', url: () => `${origin('ours')}blank.html` },
      tfjs: { id: 'TF.js 4.22 wasm-SIMD', url: () => `${origin('tfjs')}load.html`, cfg: { backend: 'wasm', threads: 0 } },
      ort: { id: 'ORT Web 1.30 wasm-SIMD', url: () => `${origin('ort')}bench.html`, cfg: { ep: 'wasm', threads: 1, bundle: 'ort.wasm.min.mjs' } },
    },
    close() {
      for (const s of Object.values(servers)) s.close();
    },
  };
}
