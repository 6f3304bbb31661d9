// The development server survives malformed requests: `GET /%` (a broken escape) used to throw
// an uncaught URIError and end the process; paths outside the served folder are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../tools/serve.mjs';
import { scratchDir } from '../../tools/scratch.mjs';

/** Status of a raw GET of `path` (sent as is, without the URL parser's escaping). */
function get(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.end();
  });
}

test('malformed and escaping paths get 4xx and the server keeps serving', async () => {
  const dir = scratchDir('webverify-serve-');
  writeFileSync(join(dir, 'index.html'), '<p>ok</p>');
  const server = await serve(dir, 0);
  const { port } = server.address();
  try {
    assert.equal(await get(port, '/%'), 400);
    assert.equal(await get(port, '/%E0%A4%A'), 400);
    assert.equal(await get(port, '/..%2f..%2fetc%2fpasswd'), 404, 'resolved inside the folder, where it does not exist');
    assert.equal(await get(port, '/missing.js'), 404);
    assert.equal(await get(port, '/'), 200);
  } finally {
    server.close();
  }
});
