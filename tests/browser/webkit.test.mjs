// The package in WebKit (Safari's engine: Debian's WebKitGTK MiniBrowser under Xvfb, webkit.mjs),
// in worker and inline mode, through the suite every browser runs (cross-browser.mjs). WebKit has
// no relaxed SIMD: it gets the plain SIMD128 build of the cpu module.
import { after, before, describe, test } from 'node:test';
import { SITE, needsShared } from './harness.mjs';
import { serve } from '../../tools/serve.mjs';
import { checkSuite, faces, suite } from './cross-browser.mjs';
import { startWebKit } from './webkit.mjs';

let server, webkit;
before(async () => {
  server = await serve(SITE, 0);
  webkit = await startWebKit();
});
after(async () => { await webkit?.close(); server?.close(); });

for (const worker of [true, false]) {
  describe(`WebKit, ${worker ? 'in a worker' : 'inline'}`, { skip: needsShared() }, () => {
    test('create, verify, identify, store, liveness, tuned import, a bad URL', async () => {
      await webkit.goto(`http://127.0.0.1:${server.address().port}/blank.html`);
      const r = await webkit.evaluate(suite.toString(), { worker, faces: faces() });
      console.log(`webkit ${webkit.version}, ${worker ? 'worker' : 'inline'}: ${r.backend}, ${r.build} build, ${r.module} module; same ${r.same[1].toFixed(4)}, different ${r.different[1].toFixed(4)}`);
      checkSuite(r, { ua: /AppleWebKit\//, build: 'simd', worker });
    });
  });
}
