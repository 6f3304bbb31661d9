// The package in Firefox (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi; no
// browser is downloaded), in worker and inline mode, through the suite every browser runs
// (cross-browser.mjs). Firefox validates relaxed SIMD: the relaxed build of the cpu module runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import puppeteer from 'puppeteer-core';
import { SITE, needsShared } from './harness.mjs';
import { serve } from '../../tools/serve.mjs';
import { checkSuite, faces, suite } from './cross-browser.mjs';

const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
let server, browser;
before(async () => {
  if (!existsSync(FIREFOX)) throw new Error(`${FIREFOX} is missing: run 'make setup-browser' (Debian's firefox-esr)`);
  server = await serve(SITE, 0);
  browser = await puppeteer.launch({ browser: 'firefox', protocol: 'webDriverBiDi', executablePath: FIREFOX, headless: true });
});
after(async () => { await browser?.close(); server?.close(); });

for (const worker of [true, false]) {
  describe(`Firefox, ${worker ? 'in a worker' : 'inline'}`, { skip: needsShared() }, () => {
    test('create, verify, identify, store, liveness, tuned import, a bad URL', async () => {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${server.address().port}/blank.html`);
      const r = await page.evaluate(suite, { worker, faces: faces() });
      console.log(`firefox ${worker ? 'worker' : 'inline'}: ${r.ua}; ${r.backend}, ${r.build} build, ${r.module} module; same ${r.same[1].toFixed(4)}, different ${r.different[1].toFixed(4)}`);
      checkSuite(r, { ua: /Firefox\//, build: 'relaxed-simd', worker });
      assert.deepEqual(errors, []);
      await page.close();
    });
  });
}
