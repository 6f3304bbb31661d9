// `make bench-gpu` (benches/gpu.mjs) in its proxy mode on SwiftShader, the only adapter here, with
// the smallest protocol: the command runs end to end, prints the adapter, labels the WebGPU row a
// proxy beside the CPU row; and without --proxy it refuses to call this machine's figures GPU
// figures (a software adapter, or none). No timing is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

const run = (...args) => spawnSync(process.execPath, [join(ROOT, 'benches/gpu.mjs'), '--only', 'ours', '--rounds', '1', '--singles', '2', '--batches', '0', '--warmup', '0', ...args], { encoding: 'utf8', timeout: 600_000 });

test('bench-gpu in proxy mode: the adapter, a WebGPU row labelled a proxy, the CPU row', { timeout: 600_000 }, () => {
  const r = run('--proxy');
  console.log(r.stdout);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^adapter: \{.*"fallback":true/m);
  assert.match(r.stdout, /^\| webverify webgpu \| proxy: google swiftshader, software \| \d+ \| \d+ \| [\d.]+ \/ [\d.]+ \|/m);
  assert.match(r.stdout, /^\| webverify cpu \(relaxed-simd\) \| CPU \|/m);
  assert.match(r.stdout, /PROXY MODE/);
});

test('bench-gpu without --proxy refuses a machine without a hardware GPU', { timeout: 300_000 }, () => {
  const r = run();
  console.log(r.stdout, r.stderr);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /software one|no WebGPU adapter/);
  assert.doesNotMatch(r.stdout, /^\| webverify webgpu/m);
});
