// pkg/README.md, what an adopter reads first: its troubleshooting table covers every error code
// the package can reject with (pkg/constants.js, which tests/shared_constants.rs ties to the
// engine's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../pkg/constants.js';

test("pkg/README's troubleshooting table has one row per error code", () => {
  const readme = readFileSync(new URL('../../pkg/README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## When something fails');
  assert.ok(start >= 0, 'pkg/README.md has no "When something fails" section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const rows = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...rows].sort(), [...ERROR_CODES].sort());
});
