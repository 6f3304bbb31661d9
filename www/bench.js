// "Benchmark": time the embedder on this device (median and minimum of many runs, one face and
// a batch of 8), so visitors can compare backends and report their numbers.
const $ = (id) => document.getElementById(id);
let verifier = null;

function face(seed) {
  // A face-sized input of deterministic noise: the cost does not depend on the pixels.
  const data = new Uint8Array(112 * 112 * 3);
  let x = seed;
  for (let i = 0; i < data.length; i++) { x = (x * 1103515245 + 12345) >>> 0; data[i] = x >>> 24; }
  return { data, width: 112, height: 112 };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function time(runs, fn) {
  const out = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

async function run() {
  $('bench-run').disabled = true;
  const say = (text) => { $('bench-status').textContent = text; };
  try {
    const one = face(1);
    const batch = Array.from({ length: 8 }, (_, i) => face(i + 2));
    say('Warming up…');
    await verifier.embed(one, { face: 'none' });
    const runs = [20, 5];
    say(`Timing ${runs[0]} single embeddings…`);
    const singles = await time(runs[0], () => verifier.embed(one, { face: 'none' }));
    say(`Timing ${runs[1]} batches of 8…`);
    const batches = (await time(runs[1], () => verifier.embedBatch(batch, { face: 'none' }))).map((ms) => ms / 8);
    const rows = [['one face', singles], ['batch of 8, per face', batches]];
    for (const [what, xs] of rows) {
      const tr = document.createElement('tr');
      for (const cell of [verifier.backend, what, median(xs).toFixed(1), Math.min(...xs).toFixed(1), String(xs.length)]) {
        tr.append(Object.assign(document.createElement('td'), { textContent: cell }));
      }
      $('bench-rows').append(tr);
    }
    $('bench-rows').dataset.rows = String($('bench-rows').children.length);
    say(`Done on ${verifier.backend}: ${median(singles).toFixed(1)} ms per face (median). Switch the backend under "This device" to compare.`);
  } catch (e) {
    say(`The benchmark failed (${e.code}): ${e.message}`);
  }
  $('bench-run').disabled = false;
}

document.addEventListener('verifier', ({ detail }) => {
  verifier = detail;
  $('bench-run').disabled = false;
});
$('bench-run').addEventListener('click', run);
