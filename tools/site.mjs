// The demo's own files for the static site (`make site`): www/ copied to the site folder, with
// each script and stylesheet of the page renamed after its content (`main.3f2a9c1b04.js`) and
// every reference to it rewritten (index.html's tags, the modules' relative imports), so that a
// host may cache them for a year: a new version has new names. HTML keeps its name and is
// revalidated; the packages' folders (webverify/, webverify-training/) keep the package's own
// names (the package caches its modules and weights per version in the Cache API, cache.js).
// `_headers` says so in the format Netlify and Cloudflare Pages read; GitHub Pages ignores it
// (docs/DEPLOY.md). Every reference is relative: the site works under any path (`/webverify/`).
// Usage: node tools/site.mjs <www dir> <site dir>
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [from, to] = process.argv.slice(2);
mkdirSync(to, { recursive: true });
const files = readdirSync(from);
const hashed = files.filter((f) => /\.(js|css)$/.test(f));
const texts = Object.fromEntries(files.map((f) => [f, readFileSync(join(from, f), 'utf8')]));
/** The demo files a module imports (`from './x.js'`, `import './x.js'`). */
const importsOf = (text) => [...text.matchAll(/(?:from|import)\s*['"]\.\/([\w-]+\.js)['"]/g)].map((m) => m[1]).filter((f) => hashed.includes(f));
const names = {};
// Leaves first: a module's name is its content's hash after its own imports were renamed.
while (Object.keys(names).length < hashed.length) {
  const ready = hashed.filter((f) => !names[f] && importsOf(texts[f]).every((d) => names[d]));
  if (ready.length === 0) throw new Error(`an import cycle among ${hashed.filter((f) => !names[f])}`);
  for (const f of ready) {
    for (const d of importsOf(texts[f])) texts[f] = texts[f].replaceAll(`'./${d}'`, `'./${names[d]}'`);
    const hash = createHash('sha256').update(texts[f]).digest('hex').slice(0, 10);
    names[f] = f.replace(/\.(js|css)$/, `.${hash}.$1`);
  }
}
for (const f of files) {
  let text = texts[f];
  if (f.endsWith('.html')) {
    for (const [name, renamed] of Object.entries(names)) text = text.replaceAll(`"${name}"`, `"${renamed}"`);
  }
  writeFileSync(join(to, names[f] ?? f), text);
}
writeFileSync(join(to, '_headers'), `# Caching for hosts that read this file (Netlify, Cloudflare Pages): made by tools/site.mjs.
# The page's scripts and stylesheet carry their content's hash in their names: cached for a year.
${Object.values(names).map((n) => `/${n}\n  Cache-Control: public, max-age=31536000, immutable`).join('\n')}
# The pages and the packages' files keep their names: revalidated on each visit (the package
# keeps its modules and weights in the Cache API per version, so a revalidation costs no download).
# No rule overlaps another: hosts combine the values of overlapping rules.
${['/', ...files.filter((f) => f.endsWith('.html')).map((f) => `/${f}`), '/webverify/*', '/webverify-training/*'].map((p) => `${p}\n  Cache-Control: no-cache`).join('\n')}
`);
console.log(`${to}: ${files.length} files of ${from}, ${hashed.length} named by their content`);
