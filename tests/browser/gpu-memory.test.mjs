// GPU memory of a WebGPU verifier (issue 31, item 5), by its benchmark (benches/gpu-memory.mjs) on
// SwiftShader with a short run: the table prints, the weights are on the GPU after loading, and
// the live GPU buffers stay at what they were after the warm-up (burn's pool reuses them: no call
// leaves a buffer behind). Its table is the one in docs/BENCHMARKS.md ("GPU memory"). No timing
// is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

test('GPU buffers stay bounded over calls', { timeout: 900_000 }, () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'benches/gpu-memory.mjs'), '--calls', '20', '--warmup', '10', '--check'], { encoding: 'utf8', timeout: 900_000 });
  console.log(r.stdout);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^backend: webgpu/m);
  const rows = Object.fromEntries([...r.stdout.matchAll(/^\| (after [^|]+?) \| \d+ \| (\d+) \| ([\d.]+) \|/gm)].map((m) => [m[1], { buffers: Number(m[2]), mib: Number(m[3]) }]));
  assert.ok(rows['after create (load)'].mib > 1, 'the weights are on the GPU');
  assert.ok(rows['after 20 more calls'].mib <= rows['after the warm-up'].mib, JSON.stringify(rows));
});
