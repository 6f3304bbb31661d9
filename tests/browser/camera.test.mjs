// The demo's "Enroll and identify" panel with a fake camera (Chromium plays a .y4m file made at
// test time from ORL faces; those images never enter the site): enroll a person, see them named,
// then in a new browser on the same profile find the gallery again and see another person as
// unknown. On both backends; screenshots in build/artifacts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ARTIFACTS, SHARED, needsShared, openPage, start } from './harness.mjs';
import { scratchDir } from '../../tools/scratch.mjs';

const ORL = join(SHARED, 'data/orl');

/** A 640x480 y4m of one ORL person's ten photos, the face scaled up 3x on grey. */
function cameraFile(person) {
  const out = join(scratchDir('webverify-camera-'), `${person}.y4m`);
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-framerate', '2', '-i', join(ORL, person, '%d.pgm'),
    '-vf', 'scale=276:336,pad=640:480:(ow-iw)/2:(oh-ih)/2:gray,format=yuv420p', out]);
  return out;
}

const camera = (file) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${file}`];

async function identified(page) {
  await page.click('#identify');
  await page.waitForFunction(() => document.getElementById('overlay').dataset.label, null, { timeout: 300_000 });
  await page.waitForFunction(() => document.getElementById('fps').textContent !== '', null, { timeout: 300_000 });
  const label = await page.getAttribute('#overlay', 'data-label');
  const fps = await page.textContent('#fps');
  await page.click('#identify');
  return { label, fps };
}

for (const backend of ['cpu', 'webgpu']) {
  test(`camera: enroll, identify, persist, unknown on ${backend}`, { skip: needsShared('data/orl/s1/1.pgm') }, async () => {
    const profile = scratchDir('webverify-profile-');
    let env = await start({ args: camera(cameraFile('s1')), profile });
    // The same origin in the second browser, or IndexedDB would be another one.
    const port = env.server.address().port;
    try {
      const { page, errors } = await openPage(env.browser, `${env.url}?backend=${backend}`);
      await page.waitForFunction(() => !document.getElementById('camera-start').disabled, null, { timeout: 300_000 });
      await page.click('#camera-start');
      await page.waitForFunction(() => !document.getElementById('enroll').disabled);
      await page.fill('#enroll-name', 'Ada');
      await page.click('#enroll');
      await page.waitForFunction(() => document.getElementById('gallery-list').textContent.includes('Ada'), null, { timeout: 300_000 });
      await page.screenshot({ path: join(ARTIFACTS, `camera-enrolled-${backend}.png`), fullPage: true });
      const known = await identified(page);
      await page.screenshot({ path: join(ARTIFACTS, `camera-identified-${backend}.png`), fullPage: true });
      console.log(`${backend}: ${known.label}, ${known.fps}`);
      assert.match(known.label, /^Ada /);

      // Verify two camera snapshots: the faces are drawn, a similarity is shown.
      await page.click('#snap-a');
      await page.waitForTimeout(700);
      await page.click('#snap-b');
      await page.waitForFunction(() => !document.getElementById('compare').disabled);
      await page.click('#compare');
      await page.waitForFunction(() => document.getElementById('similarity').textContent !== '–'
        || document.getElementById('status').classList.contains('error'), null, { timeout: 300_000 });
      assert.ok(!(await page.getAttribute('#status', 'class'))?.includes('error'), await page.textContent('#status'));
      assert.equal(await page.getAttribute('#view-a', 'data-faces'), '1');
      assert.equal(await page.getAttribute('#view-b', 'data-faces'), '1');
      console.log(`${backend}: snapshots ${await page.textContent('#similarity')}: ${await page.textContent('#verdict')}`);
      await page.screenshot({ path: join(ARTIFACTS, `camera-verify-${backend}.png`), fullPage: true });

      // Export the gallery, delete Ada, import the file: Ada is back (and saved).
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#gallery-export')]);
      const saved = join(scratchDir('webverify-gallery-'), 'gallery.webverify');
      await download.saveAs(saved);
      await page.click('button[aria-label="Delete Ada"]');
      await page.waitForFunction(() => !document.getElementById('gallery-list').textContent.includes('Ada'));
      await page.setInputFiles('#gallery-import', saved);
      await page.waitForFunction(() => document.getElementById('gallery-list').textContent.includes('Ada'));
      assert.match(await page.textContent('#camera-status'), /^Imported 1 people/);
      assert.deepEqual(errors, []);
    } finally {
      await env.close();
    }
    // Another person in front of the camera, in a new browser on the same profile.
    env = await start({ args: camera(cameraFile('s2')), profile, port });
    try {
      const { page, errors } = await openPage(env.browser, `${env.url}?backend=${backend}`);
      await page.waitForFunction(() => document.getElementById('gallery-list').textContent.includes('Ada'), null, { timeout: 300_000 });
      await page.click('#camera-start');
      await page.waitForFunction(() => !document.getElementById('identify').disabled);
      const stranger = await identified(page);
      await page.screenshot({ path: join(ARTIFACTS, `camera-unknown-${backend}.png`), fullPage: true });
      console.log(`${backend}: ${stranger.label}, ${stranger.fps}`);
      assert.equal(stranger.label, 'unknown');
      assert.deepEqual(errors, []);
    } finally {
      await env.close();
    }
  });
}
