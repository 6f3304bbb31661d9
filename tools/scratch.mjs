// Temporary directories that go away when the process exits. The tests and benchmarks start
// browsers with fresh profiles and write camera clips and saved files; left behind, a few
// hundred runs of them filled this machine's disk and CI failed in `npm ci` for want of space.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = [];
process.on('exit', () => {
  for (const dir of made) {
    // A browser that is still shutting down may hold a file a moment longer: cleaning is best
    // effort, and a failure here must not change the exit status of the run.
    try { rmSync(dir, { recursive: true, force: true, maxRetries: 2 }); } catch { /* best effort */ }
  }
});

/** A new directory under the system's temporary folder, named `prefix` plus a random suffix,
 * removed with everything in it when this process exits. */
export function scratchDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
