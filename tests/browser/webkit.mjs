// WebKit (Safari's engine) for the browser tests: Debian's WebKitGTK MiniBrowser under Xvfb, driven
// by WebKitWebDriver (W3C WebDriver). No npm client: the tests need four endpoints (new session,
// navigate, execute async script, end session), which a few fetch calls cover.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

export const WEBDRIVER = process.env.WEBKIT_WEBDRIVER ?? '/usr/bin/WebKitWebDriver';
export const XVFB = '/usr/bin/Xvfb';

/** The MiniBrowser that libwebkit2gtk-4.1 ships (its folder is named by the architecture). */
export function miniBrowser() {
  if (process.env.WEBKIT_MINIBROWSER) return process.env.WEBKIT_MINIBROWSER;
  for (const arch of existsSync('/usr/lib') ? readdirSync('/usr/lib') : []) {
    const path = `/usr/lib/${arch}/webkit2gtk-4.1/MiniBrowser`;
    if (existsSync(path)) return path;
  }
  return null;
}

/** A free TCP port on loopback. */
async function freePort() {
  const s = createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Starts Xvfb (on a display it picks itself), the driver and one MiniBrowser session; `args`
 * are more MiniBrowser options (its WebKitSettings, e.g. `--enable-mock-capture-devices=true`). */
export async function startWebKit({ args = [] } = {}) {
  const binary = miniBrowser();
  if (!binary || !existsSync(WEBDRIVER) || !existsSync(XVFB)) {
    throw new Error("WebKit is missing: run 'make setup-browser' (Debian's webkit2gtk-driver and xvfb)");
  }
  const xvfb = spawn(XVFB, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const display = await new Promise((resolve, reject) => {
    let text = '';
    xvfb.stdio[3].on('data', (d) => { text += d; if (text.includes('\n')) resolve(`:${text.trim()}`); });
    xvfb.on('exit', (c) => reject(new Error(`Xvfb exited (${c})`)));
  });
  const port = await freePort();
  const driver = spawn(WEBDRIVER, [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: display } });
  const url = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const r = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const json = await r.json();
    if (json.value?.error) throw new Error(`WebDriver ${path}: ${json.value.error}: ${json.value.message}`);
    return json.value;
  };
  for (let i = 0; ; i++) {
    try {
      if ((await call('GET', '/status')).ready) break;
    } catch (e) {
      if (i > 100) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const session = await call('POST', '/session', { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary, args: ['--automation', ...args] } } } });
  const id = session.sessionId;
  await call('POST', `/session/${id}/timeouts`, { script: 600_000, pageLoad: 60_000 });
  return {
    version: session.capabilities.browserVersion,
    goto: (page) => call('POST', `/session/${id}/url`, { url: page }),
    /** Runs `fn(arg)` (an async function, as source) in the page; rejects with its error. */
    async evaluate(fn, arg) {
      const out = await call('POST', `/session/${id}/execute/async`, {
        script: `const done = arguments[arguments.length - 1];
          (${fn})(arguments[0]).then((value) => done({ value }), (e) => done({ error: String(e?.code ? e.code + ': ' + e.message : e?.stack ?? e) }));`,
        args: [arg],
      });
      if (out.error) throw new Error(`in WebKit: ${out.error}`);
      return out.value;
    },
    async close() {
      await call('DELETE', `/session/${id}`).catch(() => {});
      driver.kill();
      xvfb.kill();
    },
  };
}
