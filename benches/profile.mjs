// Where the time of one embedding goes, per kind of layer, in Chromium: our wasm build on its
// packed CPU kernels and on burn's Flex ops (the engine's `profileLayers`: each layer timed
// alone, per-kind medians over --rounds passes), beside TF.js 4.22's wasm backend (SIMD, one
// thread) under `tf.profile` (its per-kernel times, summed by kernel name over one predict,
// medians over --rounds predicts).
//
// Usage: node benches/profile.mjs [--rounds 20] [--builds relaxed-simd,simd] [--peers-dir build/peers]
// Needs `make site` and, for the TF.js column, the peer copied by `make bench-peers`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, openPage, start } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    builds: { type: 'string', default: 'relaxed-simd,simd' },
    'peers-dir': { type: 'string', default: join(ROOT, 'build/peers') },
  },
});
const rounds = Number(values.rounds);
const env = await start();
let tfjsServer;
try {
  const ours = {};
  for (const build of values.builds.split(',')) {
    const { page } = await openPage(env.browser, `${env.url}blank.html`);
      ours[build] = await page.evaluate(async ({ rounds, build }) => {
      const { loadWasm, fetchWeights, DEFAULT_MODEL_URL } = await import('./webverify/loading.js');
      const { wasm } = await loadWasm('cpu', undefined, {}, build);
      const engine = await wasm.Engine.create(await fetchWeights(DEFAULT_MODEL_URL), 'flex', undefined);
      return engine.profileLayers(rounds);
    }, { rounds, build });
    await page.close();
  }

  let tfjs = null;
  const peer = join(values['peers-dir'], 'tfjs');
  if (existsSync(join(peer, 'node_modules'))) {
    const { startServer } = await import(join(peer, 'server.mjs'));
    tfjsServer = await startServer(0, peer);
    const { page: p } = await openPage(env.browser, `http://127.0.0.1:${tfjsServer.address().port}/bench.html`);
    tfjs = await p.evaluate(async (rounds) => {
      /* global tf */
      tf.wasm.setWasmPaths(new URL('node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href);
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      await tf.setBackend('wasm');
      await tf.ready();
      const model = await tf.loadGraphModel('models/mobilefacenet.json');
      const x = tf.randomUniform([1, 112, 112, 3], -1, 1);
      for (let i = 0; i < 3; i++) tf.tidy(() => model.predict(x)).dataSync();
      const passes = [];
      for (let r = 0; r < rounds; r++) {
        const prof = await tf.profile(() => tf.tidy(() => model.predict(x)));
        const byKernel = {};
        // tf.profile lists each fused op twice (the op scope `fusedConv2d__op` around the kernel
        // `FusedConv2D`): keep the kernels.
        for (const k of prof.kernels.filter((k) => !k.name.endsWith('__op'))) byKernel[k.name] = (byKernel[k.name] ?? 0) + k.kernelTimeMs;
        passes.push(byKernel);
      }
      const names = [...new Set(passes.flatMap((p) => Object.keys(p)))];
      const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
      return names.map((n) => [n, med(passes.map((p) => p[n] ?? 0)), passes[0][n] !== undefined]);
    }, rounds);
    await p.close();
  }

  const table = (title, rows) => {
    const total = rows.reduce((s, [, ms]) => s + ms, 0);
    console.log(`\n| ${title} | ms | share |\n|---|---|---|`);
    for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(2)} | ${(100 * ms / total).toFixed(0)} % |`);
    console.log(`| **total** | ${total.toFixed(2)} | 100 % |`);
  };
  for (const [build, p] of Object.entries(ours)) {
    table(`webverify wasm (${build} build), packed kernels`, p.kernels);
    table(`webverify wasm (${build} build), burn Flex ops`, p.burn);
  }
  if (tfjs) table('TF.js 4.22 wasm-SIMD, 1 thread (tf.profile kernels)', tfjs.map(([n, ms]) => [n, ms]));
  else console.log(`\n(no TF.js column: ${peer} has no node_modules; run 'make bench-peers')`);
  console.log(`\nmedians over ${rounds} passes per row kind; one image, 112x112.`);
} finally {
  await env.close();
  tfjsServer?.close();
}
