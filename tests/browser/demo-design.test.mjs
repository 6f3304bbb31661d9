// The demo as a visitor meets it (issue 28), with drawn faces (tools/drawn-faces.mjs) and a fake
// camera playing them, so that nothing here needs ../shared:
// - accessibility: axe-core on the whole page, in the light and the dark theme, after every
//   panel shows a result (a comparison, an enrollment and identification, a liveness check, a
//   challenge asked and stopped, the benchmark): no serious or critical violation; every control
//   reached by the keyboard; results in live regions;
// - a phone (390x844): one column, nothing wider than the screen, every touch target at least
//   44x44 px, the camera preview within the screen;
// - photos dropped and pasted, not only chosen;
// - `auto` on SwiftShader: the demo starts on the CPU module, without downloading or timing the
//   gpu module (so it is ready as fast as with `cpu`: both times printed);
// - the site under a sub-path (`/webverify/`, as a project's pages are served) works, and its
//   `_headers` marks exactly the files named by their content as immutable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { serve } from '../../tools/serve.mjs';
import { renderDrawn } from '../../tools/drawn-faces.mjs';
import { SITE, openPage, start } from './harness.mjs';
import { scratchDir } from '../../tools/scratch.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const ready = (page) => page.waitForFunction(() => /^(Ready|Could not)/.test(document.getElementById('status').textContent), null, { timeout: 300_000 });

let env;
let drawn;
before(async () => {
  const plain = await start();
  const page = await plain.browser.newPage();
  await page.goto(`${plain.url}blank.html`);
  drawn = await renderDrawn(page, scratchDir('webverify-drawn-'));
  await plain.close();
  env = await start({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${drawn.video}`] });
});
after(async () => { await env?.close(); });

/** Compares the two drawn photos of Ada through the file inputs; the verdict line. */
async function compare(page) {
  await page.setInputFiles('#file-a', drawn.files['ada-1']);
  await page.setInputFiles('#file-b', drawn.files['ada-2']);
  await page.waitForFunction(() => !document.getElementById('compare').disabled);
  await page.click('#compare');
  await page.waitForFunction(() => document.getElementById('similarity').textContent !== '–', null, { timeout: 300_000 });
  return page.textContent('#verdict');
}

/** axe-core's serious and critical violations on the page, as `rule: target (section)` lines. */
async function violations(page) {
  await page.addScriptTag({ content: AXE });
  const { found, passed } = await page.evaluate(async () => {
    const r = await window.axe.run(document);
    return {
      passed: r.passes.length,
      found: r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} (${document.querySelector(n.target[0])?.closest('section.card')?.id ?? 'page'}): ${n.failureSummary.split('\n')[1] ?? ''}`)),
    };
  });
  // axe ran its rules on this page (colour contrast, names, labels, landmarks, ...).
  assert.ok(passed >= 20, `axe passed only ${passed} rules`);
  return found;
}

describe('the demo page, designed', () => {
  for (const scheme of ['light', 'dark']) {
    test(`axe: no serious or critical violation on any panel, ${scheme} theme`, { timeout: 600_000 }, async () => {
      const { page, errors } = await openPage(env.browser, `${env.url}?backend=cpu`);
      await page.emulateMedia({ colorScheme: scheme });
      await ready(page);
      const verdict = await compare(page);
      assert.match(verdict, /^Same person/);
      await page.click('#camera-start');
      await page.waitForFunction(() => !document.getElementById('enroll').disabled);
      await page.fill('#enroll-name', `Ada ${scheme}`);
      await page.click('#enroll');
      await page.waitForFunction((n) => document.getElementById('gallery-list').textContent.includes(n), `Ada ${scheme}`, { timeout: 300_000 });
      await page.click('#liveness-check');
      await page.waitForFunction(() => !['–', 'checking…'].includes(document.getElementById('liveness-result').textContent), null, { timeout: 300_000 });
      await page.click('#challenge-start');
      await page.waitForFunction(() => /^(Turn|Look|Close)/.test(document.getElementById('challenge-prompt').textContent), null, { timeout: 300_000 });
      // The guide is on the video, in the challenge's section, while a motion is asked.
      await page.waitForFunction(() => { const g = document.getElementById('guide'); return !g.hasAttribute('hidden') && g.closest('#challenge') !== null; }, null, { timeout: 5000 });
      await page.click('#challenge-stop');
      await page.waitForFunction(() => /^stopped/.test(document.getElementById('challenge-result').textContent));
      const found = await violations(page);
      console.log(`axe, ${scheme}: ${found.length} serious or critical violations${found.length ? `\n${found.join('\n')}` : ''}`);
      assert.deepEqual(found, []);
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('the keyboard reaches every control; results are announced', async () => {
    const { page } = await openPage(env.browser, `${env.url}?backend=cpu`);
    await ready(page);
    await compare(page);
    const reached = new Set();
    for (let i = 0; i < 120; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim().slice(0, 30));
      if (id) reached.add(id);
    }
    // Every enabled control of the page has a place in the tab order.
    const controls = await page.$$eval('main button:not(:disabled), main input:not(:disabled), main select:not(:disabled), nav a', (xs) => xs
      .filter((x) => x.checkVisibility({ visibilityProperty: true }) || x.type === 'file')
      .map((x) => x.id || x.textContent.trim().slice(0, 30)));
    const missed = controls.filter((c) => !reached.has(c));
    assert.deepEqual(missed, [], `not reached by Tab: ${missed}`);
    // The file inputs are visually hidden, not removed: the keyboard opens them.
    assert.ok(reached.has('file-a') && reached.has('file-b'));
    // Results and status lines are live regions.
    for (const id of ['status', 'result', 'camera-status', 'enroll-messages', 'liveness-result', 'challenge-prompt', 'tune-status', 'bench-status']) {
      const live = await page.$eval(`#${id}`, (x) => x.closest('[aria-live], [role=status]') !== null || x.getAttribute('role') === 'status');
      assert.ok(live, `#${id} is announced`);
    }
    await page.close();
  });

  test('a phone (390 px): one column, nothing wider than the screen, touch targets of 44 px', async () => {
    const { page, errors } = await openPage(env.browser, `${env.url}?backend=cpu`);
    await page.setViewportSize({ width: 390, height: 844 });
    await ready(page);
    await compare(page);
    await page.click('#camera-start');
    await page.waitForFunction(() => document.body.classList.contains('camera-on'));
    const r = await page.evaluate(() => {
      const small = [...document.querySelectorAll('button, select, input:not([type=file]), label.button, nav a')]
        .filter((x) => x.checkVisibility())
        .map((x) => [x.id || x.textContent.trim().slice(0, 24), x.getBoundingClientRect()])
        .filter(([, b]) => b.width < 44 || b.height < 44)
        .map(([name, b]) => `${name} ${Math.round(b.width)}x${Math.round(b.height)}`);
      const pair = [...document.querySelectorAll('.pair .drop')].map((x) => x.getBoundingClientRect());
      return {
        width: document.documentElement.scrollWidth,
        small,
        oneColumn: pair[1].top >= pair[0].bottom,
        stage: document.getElementById('stage').getBoundingClientRect().width,
      };
    });
    console.log(`phone: page ${r.width} px wide, camera ${Math.round(r.stage)} px, small targets: ${r.small.join(', ') || 'none'}`);
    assert.ok(r.width <= 390, `the page is ${r.width} px wide`);
    assert.deepEqual(r.small, []);
    assert.ok(r.oneColumn, 'the two photos one under the other');
    assert.ok(r.stage <= 390);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('photos dropped on a zone, or pasted, are compared too', async () => {
    const { page } = await openPage(env.browser, `${env.url}?backend=cpu`);
    await ready(page);
    const png = (name) => readFileSync(drawn.files[name]).toString('base64');
    await page.evaluate(({ a, b }) => {
      const file = (b64, name) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/png' });
      const drop = new DataTransfer();
      drop.items.add(file(a, 'a.png'));
      document.getElementById('drop-a').dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
      const paste = new DataTransfer();
      paste.items.add(file(b, 'b.png'));
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
    }, { a: png('ada-1'), b: png('ben-1') });
    await page.waitForFunction(() => !document.getElementById('compare').disabled);
    await page.click('#compare');
    await page.waitForFunction(() => document.getElementById('similarity').textContent !== '–', null, { timeout: 300_000 });
    const verdict = await page.textContent('#verdict');
    console.log(`dropped and pasted: ${verdict}; ${await page.textContent('#rarity')}`);
    // Each photo went to its own slot: a face found in both, and two different drawings compared
    // (drawn faces look alike to a face model: no verdict is asserted).
    assert.equal(await page.getAttribute('#view-a', 'data-faces'), '1');
    assert.equal(await page.getAttribute('#view-b', 'data-faces'), '1');
    assert.ok(Number(await page.textContent('#similarity')) < 0.99);
    await page.close();
  });

  test('auto on SwiftShader: ready on the CPU module, the gpu module neither downloaded nor timed', async () => {
    const times = {};
    for (const backend of ['cpu', 'auto']) {
      const { page } = await openPage(env.browser, `${env.url}?backend=${backend}`);
      await ready(page);
      const status = await page.textContent('#status');
      times[backend] = Number(status.match(/loaded in (\d+) ms/)[1]);
      const wasm = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.wasm')));
      if (backend === 'auto') {
        assert.match(status, /^Ready: backend flex \(auto: the WebGPU adapter is a software one/);
        assert.match(status, /cpu module/);
        assert.deepEqual(wasm.filter((n) => /gpu/.test(n)), []);
      }
      await page.close();
    }
    console.log(`demo ready (loaded in, ms): cpu ${times.cpu}, auto ${times.auto} (the same work: a figure, not a bound)`);
  });

  test('served under a sub-path, with content-named scripts cached for a year', async () => {
    const server = await serve(SITE, 0, '127.0.0.1', { base: '/webverify/' });
    try {
      const url = `http://127.0.0.1:${server.address().port}/webverify/?backend=cpu`;
      const { page, errors } = await openPage(env.browser, url);
      await ready(page);
      assert.match(await page.textContent('#status'), /^Ready/);
      assert.match(await compare(page), /^Same person/);
      const outside = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => !p.startsWith('/webverify/')));
      assert.deepEqual(outside, [], 'every request stays under the sub-path');
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      server.close();
    }
    const headers = readFileSync(join(SITE, '_headers'), 'utf8');
    const immutable = [...headers.matchAll(/^\/(\S+)\n {2}Cache-Control: public, max-age=31536000, immutable$/gm)].map((m) => m[1]).sort();
    const named = readdirSync(SITE).filter((f) => /\.[0-9a-f]{10}\.(js|css)$/.test(f)).sort();
    assert.deepEqual(immutable, named);
    const html = readFileSync(join(SITE, 'index.html'), 'utf8');
    for (const ref of html.matchAll(/(?:src|href)="([^"#:]+\.(?:js|css))"/g)) assert.ok(named.includes(ref[1]), `${ref[1]} is content-named`);
  });
});
