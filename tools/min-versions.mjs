// The browser-support table of README.md and pkg/README.md: for each browser feature the
// package uses, the first Chrome, Edge, Firefox and Safari versions that ship it, taken from
// MDN's browser-compat-data (the dataset behind MDN's compatibility tables, compiled from the
// browsers' release notes and tested by its maintainers; the version is pinned in package.json),
// and what the package does without it (tests/browser/fallbacks.test.mjs tests each row).
//
//   node tools/min-versions.mjs           prints the table
//   node tools/min-versions.mjs --check   exits 1 when a README's table differs from it
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const bcd = createRequire(import.meta.url)('@mdn/browser-compat-data');
const BCD_VERSION = JSON.parse(readFileSync(new URL('../node_modules/@mdn/browser-compat-data/package.json', import.meta.url), 'utf8')).version;
export const BROWSERS = ['chrome', 'edge', 'firefox', 'safari', 'safari_ios'];
const HEADERS = ['Chrome', 'Edge', 'Firefox', 'Safari', 'Safari iOS'];

/** The engine modules' WebAssembly target features (their `target_features` section) and the
 * compatibility entry of each; tests/node/min-versions.test.mjs checks that the built modules
 * use no other (`simd128` and `relaxed-simd` have rows of their own). */
export const WASM_FEATURE_KEYS = {
  'reference-types': 'webassembly.reference-types',
  multivalue: 'webassembly.multi-value',
  'bulk-memory': 'webassembly.bulk-memory-operations',
  'sign-ext': 'webassembly.sign-extension-operations',
  'nontrapping-fptoint': 'webassembly.non-trapping-float-to-int-conversions',
};
/** Target features that need no row: part of the features above (`bulk-memory-opt`,
 * `call-indirect-overlong`: encodings of bulk memory and reference types) or of WebAssembly
 * 1.0 itself (`mutable-globals`, in every browser with SIMD). */
export const WASM_FEATURES_WITHOUT_ROW = ['simd128', 'relaxed-simd', 'bulk-memory-opt', 'call-indirect-overlong', 'mutable-globals'];

/** Each feature: its BCD entries (the latest of them counts), whether the package needs it
 * (`required`: nothing runs without it; `worker`: the default worker mode needs it, else the
 * verifier runs inline; `optional`), and what happens without it. */
export const FEATURES = [
  { name: 'WebAssembly SIMD128', keys: ['webassembly.fixed-width-SIMD'], need: 'required', without: '`create` fails with BACKEND_UNAVAILABLE naming it, before any download' },
  { name: 'The other WebAssembly features of the modules (reference types, multi-value, bulk memory, sign extension, non-trapping float-to-int)', keys: Object.values(WASM_FEATURE_KEYS), need: 'required', without: 'without reference types (Chrome 91-95), `create` fails with BACKEND_UNAVAILABLE naming them; every browser with SIMD and reference types has the rest' },
  { name: 'JavaScript of the package (private methods, `??=`, optional chaining)', keys: ['javascript.classes.private_class_methods', 'javascript.operators.nullish_coalescing_assignment', 'javascript.operators.optional_chaining'], need: 'required', without: 'the module does not parse: `import` fails with a SyntaxError before any of the package runs' },
  { name: 'Module workers', keys: ['javascript.statements.import.worker_support'], need: 'worker', without: 'the verifier runs inline (`mode: \'inline\'`); `worker: true` fails with BACKEND_UNAVAILABLE naming it' },
  { name: 'OffscreenCanvas (2d)', keys: ['api.OffscreenCanvas.getContext.2d_context'], need: 'worker', without: 'the same: inline' },
  { name: '`createImageBitmap`', keys: ['api.createImageBitmap'], need: 'worker', without: 'the same: inline, and video frames are copied through a canvas' },
  { name: 'WebAssembly relaxed SIMD', keys: ['webassembly.relaxed-SIMD'], need: 'optional', without: 'the `simd` build runs (the CPU kernels without fused multiply-add)' },
  { name: 'WebCrypto (`crypto.subtle`; secure contexts only)', keys: ['api.SubtleCrypto.digest', 'api.SubtleCrypto.encrypt'], need: 'optional', without: 'the engine hashes its files itself (about 50 ms), nothing is kept in the Cache API, and `IndexedDBStore` fails with BACKEND_UNAVAILABLE naming it' },
  { name: 'Cache API', keys: ['api.CacheStorage'], need: 'optional', without: 'the files come from the network (or the HTTP cache) on every visit' },
  { name: 'IndexedDB', keys: ['api.IDBFactory'], need: 'optional', without: '`IndexedDBStore` fails with BACKEND_UNAVAILABLE naming it' },
  { name: '`VideoFrame`', keys: ['api.VideoFrame'], need: 'optional', without: 'one input type fewer; everything else works' },
  { name: 'WebGPU', keys: ['api.GPU'], need: 'optional', without: "`backend: 'auto'` runs on the CPU and says why; `'webgpu'` fails with BACKEND_UNAVAILABLE" },
];

function entry(key) {
  let node = bcd;
  for (const part of key.split('.')) node = node?.[part];
  if (!node?.__compat) throw new Error(`browser-compat-data ${BCD_VERSION} has no ${key}`);
  return node.__compat.support;
}

/** `{ version, partial }` of the first release that ships `key` unflagged, unprefixed and not
 * since removed in `browser`, or null. */
function firstRelease(key, browser) {
  const statements = [entry(key)[browser]].flat().filter((s) => s && !s.flags && !s.prefix && !s.alternative_name);
  const shipped = statements.filter((s) => typeof s.version_added === 'string' && (!s.version_removed || s.version_last));
  if (shipped.length === 0) return null;
  // The earliest release; where it is partial and a full one follows, both are told.
  shipped.sort((a, b) => compare(version(a), version(b)));
  const first = shipped[0];
  return { version: version(first), partial: !!first.partial_implementation };
}

const version = (s) => s.version_added.replace(/^≤/, '');
const compare = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};

/** The release of `feature` in `browser`: the latest over its keys (all are needed). */
export function release(feature, browser) {
  const each = feature.keys.map((k) => firstRelease(k, browser));
  if (each.some((r) => r === null)) return null;
  return each.reduce((a, b) => (compare(a.version, b.version) >= 0 ? a : b));
}

const cell = (r) => (r === null ? 'no' : `${r.version}${r.partial ? ' (partial)' : ''}`);

/** The oldest release that runs the package: the latest over `needs`' features. */
function floor(needs, browser) {
  const rows = FEATURES.filter((f) => needs.includes(f.need)).map((f) => release(f, browser));
  if (rows.some((r) => r === null)) return 'no';
  return rows.map((r) => r.version).reduce((a, b) => (compare(a, b) >= 0 ? a : b));
}

export function table() {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    `<!-- min-versions: made by \`node tools/min-versions.mjs\` from @mdn/browser-compat-data ${BCD_VERSION}; tests/node/min-versions.test.mjs checks it -->`,
    line(['Feature', ...HEADERS, 'Without it']),
    line(['---', ...HEADERS.map(() => '---'), '---']),
    ...FEATURES.map((f) => line([`${f.name} (${f.need})`, ...BROWSERS.map((b) => cell(release(f, b))), f.without])),
    line(['**Oldest release, worker mode (the default)**', ...BROWSERS.map((b) => `**${floor(['required', 'worker'], b)}**`), 'every feature marked required or worker']),
    line(['**Oldest release, inline**', ...BROWSERS.map((b) => `**${floor(['required'], b)}**`), 'older browsers with SIMD run inline by themselves']),
    '<!-- /min-versions -->',
  ].join('\n');
}

/** The table as it stands in `file`, or null. */
export function tableIn(file) {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('<!-- min-versions');
  const end = text.indexOf('<!-- /min-versions -->');
  return start < 0 || end < 0 ? null : text.slice(start, end + '<!-- /min-versions -->'.length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--check')) {
    const stale = ['README.md', 'pkg/README.md'].filter((f) => tableIn(new URL(`../${f}`, import.meta.url)) !== table());
    if (stale.length) {
      console.error(`the browser-support table differs in ${stale.join(', ')}: paste the output of node tools/min-versions.mjs`);
      process.exit(1);
    }
  } else {
    console.log(table());
  }
}
