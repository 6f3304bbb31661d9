// Tests that need ../shared skip on a developer's machine without it and fail where
// WEBVERIFY_REQUIRE_SHARED=1 (CI): run the Node package test with the folder pointed somewhere
// empty, once each way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PACKAGE_TEST = fileURLToPath(new URL('./package.test.mjs', import.meta.url));

function run(required) {
  const env = { ...process.env, WEBVERIFY_SHARED: '/nonexistent/webverify-shared' };
  delete env.WEBVERIFY_REQUIRE_SHARED;
  delete env.NODE_TEST_CONTEXT; // a nested `node --test` would otherwise report to this one
  if (required) env.WEBVERIFY_REQUIRE_SHARED = '1';
  return spawnSync(process.execPath, ['--test', PACKAGE_TEST], { env, encoding: 'utf8' });
}

test('a missing ../shared skips on a developer machine', () => {
  const r = run(false);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /# skipped 1/);
});

test('a missing ../shared fails where WEBVERIFY_REQUIRE_SHARED=1', () => {
  const r = run(true);
  assert.notEqual(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /WEBVERIFY_REQUIRE_SHARED=1/);
});
