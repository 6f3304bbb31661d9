// A static file server for the built site: correct MIME types (application/wasm lets browsers
// stream-compile the module), no caching surprises, loopback only.
// Usage: node tools/serve.mjs <dir> [port]
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.md': 'text/markdown; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

/** `compress`: gzip every answer to a client that accepts it (as static hosts do; the load
 * benchmark measures bytes on the wire this way); `cacheControl`: the header sent with files;
 * `headers`: more headers for every file (a CDN's CORS, a page's Content-Security-Policy);
 * `base`: the path the folder is served under (`/webverify/`, as a project's pages are), any
 * other path being 404. */
export function serve(dir, port = 8080, host = '127.0.0.1', { compress = false, cacheControl = 'no-cache', headers: extra = {}, base = '/' } = {}) {
  const root = resolve(dir);
  const gzipped = new Map();
  const server = createServer(async (req, res) => {
    let path;
    try {
      // A malformed escape (`GET /%`) throws URIError: answer 400, do not die.
      path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request');
      return;
    }
    if (!path.startsWith(base)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    path = `/${path.slice(base.length)}`;
    let file = join(root, path);
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      let body = await readFile(file);
      const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': cacheControl, ...extra };
      if (compress && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
        if (!gzipped.has(file)) gzipped.set(file, gzipSync(body, { level: 9 }));
        body = gzipped.get(file);
        Object.assign(headers, { 'content-encoding': 'gzip', vary: 'accept-encoding' });
      }
      res.writeHead(200, { ...headers, 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir = 'build/site', port = '8080'] = process.argv.slice(2);
  const server = await serve(dir, Number(port));
  const { port: actual } = server.address();
  console.log(`serving ${dir} at http://127.0.0.1:${actual}/`);
}
