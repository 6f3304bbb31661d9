// The engine modules' sizes as a static host serves them: raw, gzip (level 9) and brotli
// (quality 11, what a host precompresses with), per module and build, with the share of each
// custom section (the `name` section holds function names for stack traces; `producers` the
// toolchain). Prints a Markdown table. Usage: node benches/sizes.mjs [DIR] (default pkg/wasm)
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dir = process.argv[2] ?? 'pkg/wasm';

/** Custom sections of a module: name → bytes. */
function customSections(b) {
  const out = {};
  let i = 8;
  const leb = () => { let r = 0, s = 0, x; do { x = b[i++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
  while (i < b.length) {
    const id = b[i++];
    const end = leb() + i;
    if (id === 0) {
      const n = leb();
      out[b.subarray(i, i + n).toString()] = end - i + n;
    }
    i = end;
  }
  return out;
}

const mb = (n) => (n / 1e6).toFixed(2);
console.log(`${dir}, ${new Date().toISOString().slice(0, 10)}`);
console.log('| module | build | raw MB | gzip -9 MB | brotli -q 11 MB | custom sections |');
console.log('|---|---|---|---|---|---|');
for (const [build, sub] of [['simd', ''], ['relaxed-simd', 'relaxed']]) {
  const d = join(dir, sub);
  if (!existsSync(d)) continue;
  for (const f of readdirSync(d).filter((x) => x.endsWith('_bg.wasm')).sort()) {
    const bytes = readFileSync(join(d, f));
    const gz = gzipSync(bytes, { level: 9 }).length;
    const br = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length;
    const sections = Object.entries(customSections(bytes)).map(([k, v]) => `${k} ${v >= 1e5 ? `${mb(v)} MB` : `${v} B`}`).join(', ');
    console.log(`| ${f.replace('_bg.wasm', '')} | ${build} | ${mb(bytes.length)} | ${mb(gz)} | ${mb(br)} | ${sections} |`);
  }
}
