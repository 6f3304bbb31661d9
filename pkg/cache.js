// The engine's files kept between visits in the Cache API, so that a second visit downloads
// nothing even when the HTTP cache dropped them or the server sends no caching headers. One
// cache per package version (`webverify-<version>`); older versions' caches are deleted when a
// newer one opens. Integrity: weights are stored with their SHA-256 and checked when read back
// (a mismatch is dropped and downloaded again); a wasm module is checked by compiling it (a
// module from the cache that does not compile is dropped and downloaded again).
import { PACKAGE_VERSION } from './version.js';

const PREFIX = 'webverify-';
const CACHE_NAME = `${PREFIX}${PACKAGE_VERSION}`;
const SHA_HEADER = 'x-webverify-sha256';

let opened = null;

/** This version's cache, or null where there is none (Node.js, an opaque origin, storage
 * blocked, no WebCrypto). Older versions' caches are deleted once per thread. */
export function openCache() {
  opened ??= (async () => {
    // Entries are checked with WebCrypto's SHA-256: without it (an insecure context lacks
    // both) nothing is cached.
    if (typeof caches === 'undefined' || typeof crypto === 'undefined' || !crypto.subtle) return null;
    try {
      const cache = await caches.open(CACHE_NAME);
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE_NAME).map((n) => caches.delete(n)));
      return cache;
    } catch {
      return null;
    }
  })();
  return opened;
}

/** The digests already computed of byte arrays this thread holds (a file checked on its way
 * out of the cache, or hashed on its way in), so that `digests` does not hash them again. */
const known = new WeakMap();

async function sha256Hex(bytes) {
  if (known.has(bytes)) return known.get(bytes);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  known.set(bytes, hex);
  return hex;
}

/** The SHA-256 (hex) of each file for `Engine.create` ('' for a file not given), or undefined
 * where WebCrypto is missing (an insecure context): the engine then hashes them in software,
 * about 50 ms per start for the CPU path's 1.8 MB, where WebCrypto takes a few. */
export async function digests(files) {
  if (typeof crypto === 'undefined' || !crypto.subtle) return undefined;
  try {
    return await Promise.all(files.map((f) => (f ? sha256Hex(f) : '')));
  } catch {
    return undefined;
  }
}

/** The cached bytes of `url` when present and intact, else null (a damaged entry is deleted). */
export async function cachedBytes(url) {
  const cache = await openCache();
  const hit = await cache?.match(String(url)).catch(() => undefined);
  if (!hit) return null;
  const bytes = new Uint8Array(await hit.arrayBuffer());
  if (hit.headers.get(SHA_HEADER) === await sha256Hex(bytes)) return bytes;
  await cache.delete(String(url)).catch(() => {});
  return null;
}

/** Keeps `bytes` (downloaded from `url`) with their checksum. Failures (quota) are ignored: the
 * cache is an optimisation. */
export async function keepBytes(url, bytes) {
  const cache = await openCache();
  if (!cache) return;
  const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), [SHA_HEADER]: await sha256Hex(bytes) };
  await cache.put(String(url), new Response(bytes, { headers })).catch(() => {});
}

/** The cached response for `url` (a wasm module, for streaming compilation), or undefined. */
export async function cachedResponse(url) {
  const cache = await openCache();
  return cache?.match(String(url)).catch(() => undefined);
}

/** Keeps a copy of `response` under `url` while the caller consumes the original. */
export async function keepResponse(url, response) {
  const cache = await openCache();
  if (!cache) return;
  await cache.put(String(url), response.clone()).catch(() => {});
}

/** Drops `url` from the cache (an entry that turned out unusable). */
export async function forget(url) {
  const cache = await openCache();
  await cache?.delete(String(url)).catch(() => {});
}
