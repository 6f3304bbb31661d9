// `prepack` of the npm packages (pkg/, and the companion pkg-training/): refuses to pack a tarball that would not work. Every file
// in package.json's `files` must exist and not be empty (npm silently packs without a missing
// one: a 19 kB tarball with no engine), the weights must be the repository's `models/` files byte
// for byte, and each wasm module must be newer than every Rust source and Cargo.lock (a module
// built before the last change is stale). Reports on stderr (npm pack --json owns stdout).
// Usage: node tools/check-package.mjs [package dir]
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleText } from './file-sizes.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = resolve(process.argv[2] ?? join(root, 'pkg'));
const { files } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const problems = [];

for (const file of files) {
  const path = join(dir, file);
  if (!existsSync(path)) problems.push(`${file} is missing`);
  else if (statSync(path).size === 0) problems.push(`${file} is empty`);
}

// Every module of the package is shipped: one left out of `files` breaks every bundler's import.
for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
  if (!files.includes(file)) problems.push(`${file} is not in package.json's files`);
}

for (const file of files.filter((f) => f.startsWith('models/') && f.endsWith('.safetensors'))) {
  const [packed, source] = [join(dir, file), join(root, file)];
  if (existsSync(packed) && existsSync(source) && !readFileSync(packed).equals(readFileSync(source))) {
    problems.push(`${file} differs from the repository's ${file}`);
  }
}

// The main package's cache is named after its version constant (cache.js): a release that
// forgets it would serve the previous version's engine from visitors' caches. The companion
// (webverify-training) states its version in index.js, which the main package checks against
// its own, and must be released at the main package's version.
const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const { version } = manifest;
if (existsSync(join(dir, 'version.js'))) {
  const constant = readFileSync(join(dir, 'version.js'), 'utf8').match(/PACKAGE_VERSION = '([^']+)'/)?.[1];
  if (constant !== version) problems.push(`version.js says ${constant}, package.json ${version}`);
}
if (manifest.peerDependencies?.webverify !== undefined) {
  const constant = readFileSync(join(dir, 'index.js'), 'utf8').match(/VERSION = '([^']+)'/)?.[1];
  if (constant !== version) problems.push(`index.js says ${constant}, package.json ${version}`);
  const main = JSON.parse(readFileSync(join(root, 'pkg/package.json'), 'utf8')).version;
  if (version !== main || manifest.peerDependencies.webverify !== main) {
    problems.push(`${manifest.name} ${version} (peer webverify ${manifest.peerDependencies.webverify}) is not released at webverify's version ${main}`);
  }
}

// Every entry point of `exports` but package.json has its types, and they are packed.
for (const [entry, target] of Object.entries(manifest.exports ?? {})) {
  if (entry === './package.json') continue;
  const types = typeof target === 'object' ? target.types : undefined;
  if (!types) problems.push(`exports['${entry}'] has no types`);
  else if (!files.includes(types.replace(/^\.\//, ''))) problems.push(`exports['${entry}'].types (${types}) is not in files`);
}

// Download totals come from pkg/file-sizes.js (loading.js): it must describe the files packed.
if (existsSync(join(dir, 'file-sizes.js')) && files.filter((f) => /\.(wasm|safetensors)$/.test(f)).every((f) => existsSync(join(dir, f)))
    && readFileSync(join(dir, 'file-sizes.js'), 'utf8') !== moduleText(dir)) {
  problems.push('file-sizes.js does not match the files: run node tools/file-sizes.mjs');
}

/** The newest modification time under `path` (a file or a folder). */
const newest = (path) => {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
};
const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'Cargo.lock')), newest(join(root, 'Cargo.toml')));
for (const file of files.filter((f) => f.endsWith('.wasm'))) {
  const path = join(dir, file);
  if (existsSync(path) && statSync(path).mtimeMs < sources) problems.push(`${file} is older than the Rust sources: rebuild it`);
}

if (problems.length) {
  console.error(`${manifest.name} package in ${dir} is not ready to pack:\n- ${problems.join('\n- ')}\nRun 'make package' first.`);
  process.exit(1);
}
console.error(`${manifest.name} package in ${dir}: all ${files.length} files present, weights as in models/, wasm newer than the sources`);
