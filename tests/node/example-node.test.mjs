// examples/node: the package installed from its packed tarball into an app folder, verifying two
// image files decoded with sharp, as a Node.js service would (sharp resolves from the
// repository's devDependencies: the app folder is under the repository).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SHARED, installPackage, needsShared } from '../browser/harness.mjs';

const APP = join(ROOT, 'build/examples-node');
const photo = (n) => join(SHARED, 'reference/mobilefacenet/inputs', n);

before(() => {
  rmSync(APP, { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  writeFileSync(join(APP, 'package.json'), JSON.stringify({ name: 'example-node-check', private: true, type: 'module' }));
  copyFileSync(join(ROOT, 'examples/node/verify.mjs'), join(APP, 'verify.mjs'));
  installPackage(APP);
});

const run = (...files) => spawnSync(process.execPath, ['verify.mjs', ...files], { cwd: APP, encoding: 'utf8' });

test('examples/node verifies two image files', { skip: needsShared() }, () => {
  const same = run(photo('face_00_faceid.png'), photo('face_01_facematch_selected.png'));
  console.log(same.stdout.trim());
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stdout, /^same person: similarity 0\.\d+/);
  const different = run(photo('face_00_faceid.png'), photo('face_02_samples_woman.png'));
  console.log(different.stdout.trim());
  assert.equal(different.status, 1, different.stderr);
  assert.match(different.stdout, /^different people/);
  const missing = run(photo('face_00_faceid.png'));
  assert.equal(missing.status, 2);
});
