// Shared set-up of the browser tests: the built site served on loopback and Debian's Chromium
// started headless, with WebGPU on SwiftShader where the machine has no GPU.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../../tools/serve.mjs';
import { scratchDir } from '../../tools/scratch.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SITE = process.env.WEBVERIFY_SITE ?? join(ROOT, 'build/site');
export const ARTIFACTS = join(ROOT, 'build/artifacts');
export const SHARED = process.env.WEBVERIFY_SHARED ?? join(ROOT, '../shared');
export const HAS_SHARED = existsSync(join(SHARED, 'reference/mobilefacenet/inputs'));
/** CI sets WEBVERIFY_REQUIRE_SHARED=1: a test that would skip for want of `../shared` fails
 * there instead (a skip that passes in CI checks nothing). */
export const SHARED_REQUIRED = process.env.WEBVERIFY_REQUIRE_SHARED === '1';

/** The `skip` option of a test that needs `path` under `../shared`: false when present; the
 * reason when absent on a developer's machine; throws when CI requires the data. */
export function needsShared(path = 'reference/mobilefacenet/inputs') {
  if (existsSync(join(SHARED, path))) return false;
  if (SHARED_REQUIRED) throw new Error(`WEBVERIFY_REQUIRE_SHARED=1 but ${join(SHARED, path)} is absent`);
  return `no ../shared/${path}`;
}

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** Serves the site and starts Chromium; `args` adds flags (e.g. a fake camera), `profile`
 * reuses a user-data directory, `port` the origin (to find IndexedDB again in a new browser) and
 * `site` serves another build of the site (the fault-injection one). */
export async function start({ args = [], profile, port = 0, site = SITE } = {}) {
  if (!existsSync(join(site, 'index.html'))) throw new Error(`${site} is not built: run 'make site'`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const server = await serve(site, port);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launchPersistentContext(profile ?? scratchDir('webverify-chromium-'), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...args],
    ignoreDefaultArgs: ['--headless'],
    headless: true,
  });
  return { server, browser, url, async close() { await browser.close(); server.close(); } };
}

/** A page that records console errors and uncaught exceptions; `init` (a function) runs in it
 * before any of its scripts. */
export async function openPage(browser, url, init) {
  const page = await browser.newPage();
  if (init) await page.addInitScript(init);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.setDefaultTimeout(600_000);
  await page.goto(url);
  return { page, errors };
}

/** name → base64 PNG of the 16 reference inputs, and name → TFLite raw output. */
export function referenceData() {
  const json = JSON.parse(readFileSync(join(SHARED, 'reference/mobilefacenet-tflite/embeddings.json'), 'utf8'));
  const names = Object.keys(json.outputs).sort();
  const pngs = Object.fromEntries(names.map((n) => [n, readFileSync(join(SHARED, 'reference/mobilefacenet/inputs', n)).toString('base64')]));
  return { names, pngs, outputs: json.outputs };
}

export function agreement(ours, ref) {
  let dot = 0, na = 0, nb = 0, max = 0;
  for (let i = 0; i < ref.length; i++) {
    dot += ours[i] * ref[i]; na += ours[i] ** 2; nb += ref[i] ** 2;
    max = Math.max(max, Math.abs(ours[i] - ref[i]));
  }
  return { cosine: dot / Math.sqrt(na * nb), maxDiff: max / Math.sqrt(nb) };
}

/** A tuned-weights file (base64) for the shipped int8 embedder: an adapter e + 0.5·e, so another
 * model id with the same embedding directions (verifications and galleries still match). */
export function halfAdapterTuned() {
  const shipped = readFileSync(join(ROOT, 'models/mobilefacenet-int8.safetensors'));
  const headerLength = Number(shipped.readBigUInt64LE(0));
  const base = JSON.parse(shipped.subarray(8, 8 + headerLength).toString('utf8')).__metadata__;
  const sha256 = createHash('sha256').update(shipped).digest('hex');
  const D = Number(base.embedding_dim);
  const w = new Float32Array(D * D);
  for (let i = 0; i < D; i++) w[i * D + i] = 0.5;
  const meta = {
    format: 'webverify-weights', format_version: '1', model: 'mobilefacenet-tuned', source: 'a test', source_sha256: sha256,
    embedding_dim: String(D), input_size: '112', base_model: base.model, base_sha256: sha256, scope: 'adapter',
  };
  let json = JSON.stringify({ __metadata__: meta, 'adapter.weight': { dtype: 'F32', shape: [D, D], data_offsets: [0, w.byteLength] } });
  while (json.length % 8) json += ' ';
  const out = Buffer.alloc(8 + json.length + w.byteLength);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  out.write(json, 8, 'utf8');
  Buffer.from(w.buffer).copy(out, 8 + json.length);
  return out.toString('base64');
}
/** Packs pkg/ with npm and installs the tarball into the app folder `app` (which has its
 * package.json), offline, as a user's `npm install webverify` would; with `training`, the
 * companion webverify-training too (pkg-training/, in the same install); the main tarball's
 * path. The
 * other dependencies of the examples (react, next, vite, webpack, sharp) resolve from the
 * repository's node_modules: every app folder is under the repository. */
export function installPackage(app, { training = false } = {}) {
  const pack = (dir) => execFileSync('npm', ['pack', '--silent', '--pack-destination', app], { cwd: join(ROOT, dir), encoding: 'utf8' }).trim().split('\n').pop();
  const names = [pack('pkg'), ...(training ? [pack('pkg-training')] : [])];
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', ...names.map((n) => `./${n}`)], { cwd: app, stdio: 'pipe' });
  return join(app, names[0]);
}

/** A free TCP port on loopback (for a server started by another program). */
export function freePort() {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Starts the repository's Vite in the app folder `app` on a free loopback port: the dev server
 * (`args` empty, or `['--config', file]`) or a built app's preview (`['preview']`). Resolves to
 * `{ url, child }` once Vite prints its address (kill `child` to stop it). */
export async function startVite(app, args = []) {
  const port = await freePort();
  const child = spawn(join(ROOT, 'node_modules/.bin/vite'), [...args, '--port', String(port), '--strictPort', '--host', '127.0.0.1'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      // eslint-disable-next-line no-control-regex
      const m = text.replace(/\x1b\[[0-9;]*m/g, '').match(/Local:\s+(http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`vite exited (${code}): ${text}`)));
    setTimeout(() => reject(new Error(`vite did not start: ${text}`)), 60_000);
  });
  return { url, child };
}

/** Drives an example page (examples/cdn, csp, webpack, vite: `#a`, `#b`, `#verify`, `#tune`,
 * `#result`) in `browser`: waits for it to start, gives it `photos`, verifies, and with `tune`
 * then fine-tunes. The result line after each step, and the page's console (`type: text`, uncaught
 * errors as `pageerror: …`). */
export async function driveExample(browser, url, photos, { tune = false } = {}) {
  const page = await browser.newPage();
  const console_ = [];
  page.on('console', (m) => console_.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console_.push(`pageerror: ${e}`));
  page.setDefaultTimeout(300_000);
  const changed = (was) => page.waitForFunction((w) => document.getElementById('result').textContent !== w, was);
  try {
    await page.goto(url);
    await changed('loading…');
    const ready = await page.textContent('#result');
    if (!ready.startsWith('ready')) return { ready, console: console_ };
    await page.setInputFiles('#a', photos[0]);
    await page.setInputFiles('#b', photos[1]);
    await page.click('#verify');
    await changed(ready);
    const result = await page.textContent('#result');
    if (!tune) return { ready, result, console: console_ };
    await page.click('#tune');
    await changed(result);
    return { ready, result, tuned: await page.textContent('#result'), console: console_ };
  } finally {
    await page.close();
  }
}

/** The errors among `driveExample`'s console lines. */
export const consoleErrors = (lines) => lines.filter((l) => /^(error|pageerror)/.test(l));
