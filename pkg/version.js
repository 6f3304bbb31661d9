// The package's version, which names the engine's cache (cache.js). tools/check-package.mjs
// refuses a package whose package.json says otherwise.
export const PACKAGE_VERSION = '0.1.0';
