// `make screenshots`: the pictures of the demo in README.md and docs/images, made from the built
// site (`make site`) in headless Chromium with a fake camera, so that they show the page as it
// is. The faces are drawn (tools/drawn-faces.mjs), never the test data's photos of real people.
// Desktop (1280 px) and phone (390 px) widths, light and dark themes: the first screen after a
// comparison; on the desktop in the light theme also enrollment, liveness, the challenge (a
// motion asked, with its arrow and countdown on the video) and fine-tuning.
// Usage: node tools/screenshots.mjs [out dir]   (default docs/images)
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, start } from '../tests/browser/harness.mjs';
import { renderDrawn } from './drawn-faces.mjs';
import { scratchDir } from './scratch.mjs';

const OUT = resolve(process.argv[2] ?? join(ROOT, 'docs/images'));
const work = scratchDir('webverify-screenshots-');
mkdirSync(OUT, { recursive: true });

// The drawn photos, and the fake camera's video.
let files;
let video;
{
  const env = await start();
  const page = await env.browser.newPage();
  await page.goto(`${env.url}blank.html`);
  ({ files, video } = await renderDrawn(page, work));
  await env.close();
}

const env = await start({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`] });
const shots = [];
async function save(target, name) {
  const path = join(OUT, `${name}.png`);
  await target.screenshot({ path });
  shots.push(path);
}

try {
  for (const [device, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    for (const scheme of ['light', 'dark']) {
      const page = await env.browser.newPage();
      page.setDefaultTimeout(300_000);
      await page.setViewportSize(viewport);
      await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
      await page.goto(`${env.url}?backend=cpu`);
      await page.waitForFunction(() => /^(Ready|Could not)/.test(document.getElementById('status').textContent));
      await page.setInputFiles('#file-a', files['ada-1']);
      await page.setInputFiles('#file-b', files['ada-2']);
      await page.waitForFunction(() => !document.getElementById('compare').disabled);
      await page.click('#compare');
      await page.waitForFunction(() => document.getElementById('similarity').textContent !== '–');
      await page.evaluate(() => window.scrollTo(0, 0));
      // No hover left where the last click was.
      await page.mouse.move(0, 0);
      await save(page, `demo-${device}-${scheme}`);
      await page.locator('#verify').screenshot({ path: join(OUT, `demo-compare-${device}-${scheme}.png`) });
      shots.push(join(OUT, `demo-compare-${device}-${scheme}.png`));
      await page.close();
    }
  }
  // The camera panels last: enrolling and fine-tuning change the stored gallery and model.
  const page = await env.browser.newPage();
  page.setDefaultTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
  await page.goto(`${env.url}?backend=cpu`);
  await page.waitForFunction(() => /^(Ready|Could not)/.test(document.getElementById('status').textContent));
  // Pictures of single sections: the sticky bar of links would cover their top.
  await page.addStyleTag({ content: '.sections { position: static; }' });
  await page.click('#camera-start');
  await page.waitForFunction(() => !document.getElementById('enroll').disabled);
  await page.fill('#enroll-name', 'Ada');
  await page.click('#enroll');
  await page.waitForFunction(() => document.getElementById('gallery-list').textContent.includes('Ada'));
  await page.click('#identify');
  await page.waitForFunction(() => document.getElementById('overlay').dataset.label);
  await save(page.locator('#people'), 'demo-enroll');
  await page.click('#identify');
  await page.click('#liveness-check');
  await page.waitForFunction(() => !['–', 'checking…'].includes(document.getElementById('liveness-result').textContent));
  await save(page.locator('#liveness'), 'demo-liveness');
  await page.click('#challenge-start');
  // A motion asked: its arrow and countdown on the video.
  await page.waitForFunction(() => /^(Turn|Look|Close)/.test(document.getElementById('challenge-prompt').textContent));
  await page.waitForTimeout(700);
  await save(page.locator('#challenge'), 'demo-challenge');
  await page.click('#challenge-stop');
  await page.fill('#tune-steps', '16');
  await page.click('#tune-train');
  await page.waitForFunction(() => /^(Tuned|Fine-tuning failed)/.test(document.getElementById('tune-status').textContent));
  await save(page.locator('#tune'), 'demo-finetune');
  await page.close();
} finally {
  await env.close();
}
console.log(`${shots.length} screenshots in ${OUT}:\n${shots.map((s) => `  ${s}`).join('\n')}`);
