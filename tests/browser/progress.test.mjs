// Download progress with totals when the server compresses (as static hosts and CDNs do): the
// body's compressed length says nothing about the bytes fetch hands over, so the package reports
// its own files' known sizes (pkg/file-sizes.js). In worker and inline mode, every download stage
// of `create` (module, embedder, detector, and the face mesh with `alignment: 'mesh'`) must report
// a total equal to the file's size and end with loaded = total; and so must the liveness model,
// which the first `liveness()` downloads later, to the same `onProgress`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../tools/serve.mjs';
import { SITE, openPage, start } from './harness.mjs';

let env;
let server;
before(async () => {
  env = await start();
  server = await serve(SITE, 0, '127.0.0.1', { compress: true });
});
after(async () => { server?.close(); await env?.close(); });

const size = (file) => statSync(join(SITE, 'webverify', file)).size;

for (const worker of [true, false]) {
  test(`progress totals behind a compressing server, ${worker ? 'in a worker' : 'inline'}`, async () => {
    const { page, errors } = await openPage(env.browser, `http://127.0.0.1:${server.address().port}/blank.html`);
    const r = await page.evaluate(async (worker) => {
      const { Verifier } = await import('./webverify/index.js');
      const last = {};
      const v = await Verifier.create({ backend: 'cpu', worker, alignment: 'mesh', cache: false, onProgress: (p) => { last[p.stage] = [p.loaded, p.total]; } });
      const build = v.wasmBuild;
      const beforeLiveness = 'liveness' in last;
      const pixels = new Uint8ClampedArray(112 * 112 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) % 251));
      await v.liveness(new ImageData(pixels, 112, 112)).catch((e) => { if (e.code !== 'NO_FACE') throw e; });
      v.dispose();
      if (beforeLiveness) throw new Error('liveness reported before the call');
      // What the server sent: compressed.
      const encodings = performance.getEntriesByType('resource').filter((e) => /\.(wasm|safetensors)$/.test(e.name)).map((e) => e.encodedBodySize < e.decodedBodySize);
      return { last, build, compressed: encodings.length > 0 && encodings.every(Boolean) };
    }, worker);
    const wasm = `wasm/${r.build === 'relaxed-simd' ? 'relaxed/' : ''}webverify_cpu_bg.wasm`;
    assert.deepEqual(r.last.wasm, [size(wasm), size(wasm)]);
    assert.deepEqual(r.last.model, [size('models/mobilefacenet-int8.safetensors'), size('models/mobilefacenet-int8.safetensors')]);
    assert.deepEqual(r.last.detector, [size('models/blazeface-short.safetensors'), size('models/blazeface-short.safetensors')]);
    assert.deepEqual(r.last.mesh, [size('models/facemesh.safetensors'), size('models/facemesh.safetensors')]);
    assert.deepEqual(r.last.liveness, [size('models/minifasnet-v1se-f16.safetensors'), size('models/minifasnet-v1se-f16.safetensors')]);
    if (!worker) assert.equal(r.compressed, true, 'the server compressed the files');
    assert.deepEqual(errors, []);
    await page.close();
  });
}
