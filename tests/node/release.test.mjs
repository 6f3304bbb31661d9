// The release workflow (.github/workflows/release.yml) cannot run here (no repository host), so
// every step of it that can run on this machine is run from the file's own text: the tag check
// (and its refusal of a wrong tag), the packing of both packages, and both publish commands with
// --dry-run added (and without --provenance, which only a GitHub-hosted runner's OIDC identity
// can give; the test checks the workflow asks for it). The test job's `.ci/run` is the suite this
// file belongs to, and the actions (checkout, artifacts, setup-node) are the host's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { scratchDir } from '../../tools/scratch.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const workflow = parse(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8'));
const { version } = JSON.parse(readFileSync(join(ROOT, 'pkg/package.json'), 'utf8'));
const TAG = `v${version}`;

/** Runs a step's `run` text with bash in the repository root, with the host's variables. */
function runStep(text, env) {
  return spawnSync('bash', ['-euo', 'pipefail', '-c', text], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, GITHUB_REF_NAME: TAG, ...env } });
}

test('the workflow: a tag push, the README test command with data, provenance on every publish', () => {
  assert.deepEqual(workflow.on.push.tags, ['v*']);
  const { test: testJob, publish } = workflow.jobs;
  const runs = testJob.steps.filter((s) => s.run).map((s) => s.run);
  assert.ok(runs.includes('.ci/run'), 'the test job runs CI\'s script');
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
  assert.match(ci, /WEBVERIFY_REQUIRE_SHARED=1/);
  const readmeTest = readFileSync(join(ROOT, 'README.md'), 'utf8').match(/^(make test)\s+#/m)?.[1];
  assert.equal(readmeTest, 'make test');
  assert.match(ci, /^make test$/m, '.ci/run calls the README\'s test command');
  assert.deepEqual(publish.needs, 'test');
  assert.equal(publish.permissions['id-token'], 'write');
  const publishes = publish.steps.filter((s) => /npm publish/.test(s.run ?? ''));
  assert.equal(publishes.length, 2);
  for (const s of publishes) {
    assert.match(s.run, /--provenance --access public/);
    assert.equal(s.env.NODE_AUTH_TOKEN, '${{ secrets.NPM_TOKEN }}');
  }
  assert.match(publishes[0].run, /\/webverify-"/, 'the main package first: the companion\'s peer dependency names it');
});

test('its local steps: the tag check, the packing, both publishes (--dry-run)', { timeout: 600_000 }, () => {
  const dir = scratchDir('webverify-release-');
  try {
    const steps = workflow.jobs.test.steps;
    const check = steps.find((s) => /release-check/.test(s.run ?? '')).run;
    const ok = runStep(check, {});
    assert.equal(ok.status, 0, ok.stderr);
    const wrong = runStep(check, { GITHUB_REF_NAME: 'v9.9.9' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /the tag v9\.9\.9 does not name webverify's version/);

    const pack = steps.find((s) => /npm pack/.test(s.run ?? ''));
    const packed = runStep(pack.run, { RELEASE_DIR: dir });
    assert.equal(packed.status, 0, packed.stderr);
    const tarballs = readdirSync(dir).sort();
    assert.deepEqual(tarballs, [`webverify-${version}.tgz`, `webverify-training-${version}.tgz`]);
    const main = statSync(join(dir, tarballs[0])).size;
    console.log(`release tarballs: ${tarballs.map((t) => `${t} ${statSync(join(dir, t)).size} bytes`).join(', ')}`);
    assert.ok(main <= 10e6, `the main tarball: ${main} bytes`);

    // setup-node writes an .npmrc whose token is NODE_AUTH_TOKEN: here a placeholder.
    const npmrc = join(dir, '.npmrc');
    writeFileSync(npmrc, '//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\n');
    for (const s of workflow.jobs.publish.steps.filter((x) => /npm publish/.test(x.run ?? ''))) {
      const local = s.run.replace(' --provenance', '') + ` --dry-run --userconfig ${npmrc}`;
      const run = runStep(local, { RELEASE_DIR: dir, NODE_AUTH_TOKEN: 'placeholder-for-dry-run' });
      assert.equal(run.status, 0, `${s.name}: ${run.stderr}`);
      assert.deepEqual(run.stderr.split('\n').filter((l) => /^npm (warn|error)/i.test(l)), [], s.name);
      assert.match(run.stdout + run.stderr, new RegExp(`\\+ webverify(-training)?@${version.replace(/\./g, '\\.')}`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
