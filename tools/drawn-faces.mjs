// Faces drawn in a canvas, for pictures of the demo that may be published (and the tests that
// check the pictured states): the test data's
// photos of real people must never appear in the repository or on the site (../shared/data/
// README.md), and BlazeFace finds these drawings (score about 0.9), so the demo's real pipeline
// runs on them. `drawFace` runs in the page (it is passed to page.evaluate): it returns a PNG
// as base64. A person is a set of traits; a "photo" of them adds a small turn and a lighting.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Two people, two photos of the first. */
export const PEOPLE = {
  ada: { skin: ['#f1c7a5', '#c98e66'], hair: '#3b2a20', jaw: 100, eyes: 32, eye: '#3a5a7a', mouth: '#9b3b3b', brows: 5 },
  ben: { skin: ['#c99472', '#8d5a3b'], hair: '#141414', jaw: 92, eyes: 38, eye: '#2a1a0a', mouth: '#7a2e2e', brows: 8, beard: true },
};
export const PHOTOS = [
  ['ada-1', 'ada', { turn: 0, light: 1, shift: 0 }],
  ['ada-2', 'ada', { turn: 0.06, light: 0.9, shift: 3 }],
  ['ben-1', 'ben', { turn: -0.04, light: 1.05, shift: -2 }],
];

/** In the page: the face of `person` as a 480x480 PNG (base64), seen as `view` says. */
export async function drawFace({ person: p, view }) {
  const size = 480;
  const c = new OffscreenCanvas(size, size);
  const g = c.getContext('2d');
  const bg = g.createLinearGradient(0, 0, size, size);
  bg.addColorStop(0, '#8fa3b8');
  bg.addColorStop(1, '#5d6f84');
  g.fillStyle = bg;
  g.fillRect(0, 0, size, size);
  g.translate(size / 2 + view.shift * 4, size / 2 + 10);
  g.rotate(view.turn);
  g.scale(1.5, 1.5);
  g.filter = `brightness(${view.light})`;
  // Shoulders, hair, face.
  g.fillStyle = '#2d4a6b';
  g.beginPath();
  g.ellipse(0, 150, 130, 60, 0, Math.PI, 0);
  g.fill();
  g.fillStyle = p.hair;
  g.beginPath();
  g.ellipse(0, -30, 95, 110, 0, 0, Math.PI * 2);
  g.fill();
  const skin = g.createRadialGradient(-10, -20, 20, 0, 0, 110);
  skin.addColorStop(0, p.skin[0]);
  skin.addColorStop(1, p.skin[1]);
  g.fillStyle = skin;
  g.beginPath();
  g.ellipse(0, 0, 78, p.jaw, 0, 0, Math.PI * 2);
  g.fill();
  if (p.beard) {
    g.fillStyle = 'rgba(20, 20, 20, 0.55)';
    g.beginPath();
    g.ellipse(0, 55, 62, 45, 0, 0, Math.PI);
    g.fill();
  }
  for (const side of [-1, 1]) {
    const x = side * p.eyes;
    g.fillStyle = '#ffffff';
    g.beginPath();
    g.ellipse(x, -20, 15, 8, 0, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = p.eye;
    g.beginPath();
    g.arc(x + view.shift * 0.6, -20, 6, 0, Math.PI * 2);
    g.fill();
    g.strokeStyle = p.hair;
    g.lineWidth = p.brows;
    g.beginPath();
    g.moveTo(x - 18, -42);
    g.quadraticCurveTo(x, -50, x + 18, -42);
    g.stroke();
  }
  g.strokeStyle = 'rgba(110, 60, 40, 0.8)';
  g.lineWidth = 3;
  g.beginPath();
  g.moveTo(0, -20);
  g.lineTo(-8, 25);
  g.lineTo(5, 28);
  g.stroke();
  g.strokeStyle = p.mouth;
  g.lineWidth = 5;
  g.beginPath();
  g.moveTo(-25, 55);
  g.quadraticCurveTo(0, 70, 25, 55);
  g.stroke();
  const blob = await c.convertToBlob({ type: 'image/png' });
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** Draws the photos of PHOTOS as PNG files in `dir` and a fake camera's video of Ada moving a
 * little (y4m, 640x480, 2 frames a second, for Chromium's `--use-file-for-fake-video-capture`),
 * using `page` (any page: the drawing needs only OffscreenCanvas) and ffmpeg. Resolves to
 * `{ files: { name: path }, video }`. */
export async function renderDrawn(page, dir) {
  const files = {};
  for (const [name, person, view] of PHOTOS) {
    files[name] = join(dir, `${name}.png`);
    writeFileSync(files[name], Buffer.from(await page.evaluate(drawFace, { person: PEOPLE[person], view }), 'base64'));
  }
  for (let i = 0; i < 8; i++) {
    const view = { turn: 0.03 * Math.sin(i), light: 1, shift: Math.round(2 * Math.cos(i)) };
    writeFileSync(join(dir, `frame-${i}.png`), Buffer.from(await page.evaluate(drawFace, { person: PEOPLE.ada, view }), 'base64'));
  }
  const video = join(dir, 'camera.y4m');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-framerate', '2', '-i', join(dir, 'frame-%d.png'),
    '-vf', 'pad=640:480:80:0:0x5d6f84,format=yuv420p', video]);
  return { files, video };
}
