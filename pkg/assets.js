// `assetsUrl`: where a copy of the package's files is served (a CDN, a static folder) when they
// are not beside the package's JavaScript: the worker script, the engine modules (wasm/) and
// the weights (models/) are then all taken from there (loading.js, transport.js).
import { WebverifyError } from './errors.js';

/** `assetsUrl` as a folder URL (a trailing slash added: `https://cdn/x` means the folder x);
 * undefined when not given. */
export function assetsBase(assetsUrl) {
  if (assetsUrl === undefined) return undefined;
  let url;
  try {
    url = new URL(String(assetsUrl));
  } catch {
    throw new WebverifyError('INVALID_INPUT', `assetsUrl must be an absolute URL (or one relative to the page), not ${assetsUrl}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}
