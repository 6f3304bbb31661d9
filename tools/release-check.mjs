// Before a release is published: the tag names the version both packages carry (webverify and
// its companion webverify-training are released together, at one version), and both pass their
// prepack check (tools/check-package.mjs: every file present, weights as in models/, wasm newer
// than the sources, types for every export). Run by .github/workflows/release.yml; exit 1 with
// the reason otherwise.
// Usage: node tools/release-check.mjs TAG   (e.g. v0.1.0)
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['pkg', 'pkg-training'];
const tag = process.argv[2];
const problems = [];
if (!tag) problems.push('no tag given (usage: node tools/release-check.mjs v1.2.3)');
for (const dir of PACKAGES) {
  const { name, version } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  if (tag && tag !== `v${version}`) problems.push(`the tag ${tag} does not name ${name}'s version ${version} (${dir}/package.json)`);
  const check = spawnSync(process.execPath, [join(root, 'tools/check-package.mjs'), join(root, dir)], { encoding: 'utf8' });
  if (check.status !== 0) problems.push(check.stderr.trim());
}
if (problems.length) {
  console.error(`not ready to release:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.error(`ready to release ${tag}: ${PACKAGES.join(' and ')} at that version, both complete`);
