// The Pages workflow (.github/workflows/pages.yml) cannot run here. Its build step is the
// Makefile's `site` target, which `make test` runs before the browser suites (and
// tests/browser/demo-design.test.mjs serves under a sub-path, as Pages does): this checks that the
// workflow builds exactly that and uploads the folder it makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const ROOT = new URL('../../', import.meta.url);
const workflow = parse(readFileSync(new URL('.github/workflows/pages.yml', ROOT), 'utf8'));
const makefile = readFileSync(new URL('Makefile', ROOT), 'utf8');

test('the Pages workflow builds the site with make and uploads build/site', () => {
  const steps = workflow.jobs.build.steps;
  const build = steps.find((s) => /\bmake\b/.test(s.run ?? ''));
  assert.ok(build, 'a make step');
  assert.match(build.run, /\bsite\b/);
  const site = makefile.match(/^SITE := (\S+)$/m)?.[1];
  assert.equal(site, 'build/site');
  const upload = steps.find((s) => /upload-pages-artifact/.test(s.uses ?? ''));
  assert.equal(upload.with.path, site);
  assert.ok(workflow.jobs.deploy.steps.some((s) => /deploy-pages/.test(s.uses ?? '')));
  assert.equal(workflow.permissions['id-token'], 'write');
});
