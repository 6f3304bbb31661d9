// The demo page's first screen and its compare panel: load the package as a user would (with
// the bytes as they arrive), then compare two photos (chosen, dropped or pasted) or camera
// snapshots, and show the verdict: the similarity on a bar with the calibrated thresholds
// marked, how rare such a score is between strangers, the faces found and the crops the model
// saw. The "This device" panel says what the browser can do and picks the backend.
import { Verifier } from './webverify/index.js';
// The fine-tuning panel's training module, from the companion package (only URLs: the module
// itself is downloaded by the first fineTune).
import { training } from './webverify-training/index.js';
import { moveCameraTo } from './camera.js';

const $ = (id) => document.getElementById(id);
const images = { a: null, b: null };
let verifier = null;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

// The smallest module with a SIMD instruction (v128.const; from wasm-feature-detect).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** What this browser offers, in plain words. */
async function probe() {
  const lines = [];
  if (!navigator.gpu) {
    lines.push('WebGPU: not in this browser (the CPU backend is used).');
  } else {
    const adapter = await navigator.gpu.requestAdapter().catch(() => null);
    const info = adapter?.info;
    const name = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '';
    lines.push(adapter ? `WebGPU: available${name ? ` (${name})` : ''}.` : 'WebGPU: the browser has it but found no usable GPU adapter (the CPU backend is used).');
  }
  lines.push(WebAssembly.validate(SIMD_PROBE)
    ? 'WebAssembly SIMD: yes (the CPU backend runs 4 lanes at a time).'
    : 'WebAssembly SIMD: no — this browser cannot run webverify\'s CPU backend.');
  lines.push(`CPU threads reported: ${navigator.hardwareConcurrency ?? 'unknown'}; the model runs in a worker, off the page's thread.`);
  $('capabilities').replaceChildren(...lines.map((text) => Object.assign(document.createElement('li'), { textContent: text })));
}

const MB = (n) => (n / 1e6).toFixed(1);

async function start(backend) {
  $('compare').disabled = true;
  verifier?.dispose();
  verifier = null;
  setStatus('Loading the model…');
  const progress = $('load-progress');
  const bytes = { wasm: [0, 0], model: [0, 0], detector: [0, 0] };
  const t = performance.now();
  try {
    verifier = await Verifier.create({
      backend,
      training,
      onProgress: ({ stage, loaded, total }) => {
        if (stage in bytes) bytes[stage] = [loaded, total];
        const files = Object.values(bytes);
        const [got, all] = [files.reduce((n, [l]) => n + l, 0), files.reduce((n, [, t]) => n + t, 0)];
        if (all) progress.value = got / all;
        setStatus(stage === 'backend'
          ? `Starting the ${backend === 'cpu' ? 'CPU' : backend} backend…`
          : `Loading the engine and the model: ${MB(got)}${all ? ` of ${MB(all)}` : ''} MB…`);
      },
    });
    const loaded = performance.now() - t;
    // Warm-up behind the loading state: the first run compiles kernels (shaders on WebGPU).
    setStatus('Warming up…');
    const w = performance.now();
    await verifier.embed({ data: new Uint8Array(112 * 112 * 3).fill(128), width: 112, height: 112 }, { face: 'none' });
    progress.value = 1;
    const warm = performance.now() - w;
    const ready = (on) => `Ready: backend ${on}, ${verifier.wasmModule} module, model ${verifier.model.id}, loaded in ${Math.round(loaded)} ms, warm-up ${Math.round(warm)} ms`;
    setStatus(ready(verifier.backend));
    // `auto` on a hardware GPU answers on the CPU and may move to WebGPU once it has timed it.
    const shown = verifier;
    shown.backendChosen().then((on) => { if (verifier === shown) setStatus(ready(on)); });
    document.dispatchEvent(new CustomEvent('verifier', { detail: verifier }));
    await markThresholds();
  } catch (e) {
    setStatus(`Could not start (${e.code}): ${e.message}`, true);
  }
  update();
}

/** The calibrated thresholds at three false-accept rates, as marks on the verdict's bar: each is
 * the threshold `verify` uses at that rate (asked on two blank crops: the threshold does not
 * depend on the images). */
const MARKS = [[1e-2, '1 in 100'], [1e-3, '1 in 1 000'], [1e-4, '1 in 10 000']];
const BAR_FROM = -0.2;
const onBar = (similarity) => `${(100 * Math.min(1, Math.max(0, (similarity - BAR_FROM) / (1 - BAR_FROM)))).toFixed(1)}%`;
async function markThresholds() {
  const blank = { data: new Uint8Array(112 * 112 * 3).fill(128), width: 112, height: 112 };
  const marks = [];
  for (const [far, words] of MARKS) {
    const { threshold } = await verifier.verify(blank, blank, { face: 'none', far });
    const mark = Object.assign(document.createElement('div'), { className: 'meter-mark', title: `${words} pairs of strangers reach ${threshold.toFixed(2)}` });
    mark.style.left = onBar(threshold);
    marks.push(mark);
  }
  $('meter-marks').replaceChildren(...marks);
  $('meter-legend').textContent = `Marks: the similarities that only ${MARKS.map(([, words]) => words).join(', ').replace(/, ([^,]*)$/, ' and $1')} pairs of different people reach.`;
}

function update() {
  $('compare').disabled = !(verifier && images.a && images.b);
  const camera = $('camera');
  for (const which of ['a', 'b']) $(`snap-${which}`).disabled = !(verifier && camera.srcObject && camera.readyState >= 2);
}

/** Draws the image, and when `face` is given (after a comparison) the face that was compared,
 * with `found` faces in the photo in all. */
function draw(which, face = null, found = 0) {
  const bitmap = images[which];
  const canvas = $(`view-${which}`);
  const ctx = canvas.getContext('2d');
  const scale = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
  // Centred, so that a landscape snapshot does not leave an empty band below it.
  const [dx, dy] = [(canvas.width - bitmap.width * scale) / 2, (canvas.height - bitmap.height * scale) / 2];
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, dx, dy, bitmap.width * scale, bitmap.height * scale);
  ctx.translate(dx, dy);
  if (!face) {
    delete canvas.dataset.faces;
    return;
  }
  // The compared face, with its six landmarks.
  ctx.strokeStyle = '#39d353';
  ctx.lineWidth = 2;
  ctx.strokeRect(face.box.x * scale, face.box.y * scale, face.box.width * scale, face.box.height * scale);
  ctx.fillStyle = ctx.strokeStyle;
  for (const [x, y] of Object.values(face.landmarks)) ctx.fillRect(x * scale - 1.5, y * scale - 1.5, 3, 3);
  canvas.dataset.faces = String(found);
}

/** The photos being decoded, so that a paste right after a drop finds the slot taken. */
const picking = new Set();

async function pick(which, source) {
  picking.add(which);
  // Pixels as stored in the file, as the native decoder reads them (no colour management).
  try {
    images[which] = await createImageBitmap(source, { colorSpaceConversion: 'none' });
  } catch {
    setStatus('That file is not an image this browser can decode.', true);
    return;
  } finally {
    picking.delete(which);
  }
  draw(which);
  update();
}

async function compare() {
  $('compare').disabled = true;
  try {
    const t = performance.now();
    // One engine call: the verdict, the faces compared and the crops the model saw.
    const result = await verifier.verify(images.a, images.b, { crops: true });
    const ms = performance.now() - t;
    ['a', 'b'].forEach((which, i) => {
      draw(which, result.mainFaces[i], result.faces[i]);
      $(`crop-${which}`).getContext('2d').putImageData(result.crops[i], 0, 0);
    });
    $('similarity').textContent = result.similarity.toFixed(4);
    $('verdict').textContent = result.match
      ? `Same person (similarity ≥ ${result.threshold.toFixed(2)})`
      : `Different people (similarity < ${result.threshold.toFixed(2)})`;
    $('verdict').className = result.match ? 'match' : 'no-match';
    $('result').className = `verdict ${result.match ? 'match' : 'no-match'}`;
    $('meter-fill').style.width = onBar(result.similarity);
    // The estimated false-accept rate, in words: how often two different people score this high.
    let rarity = '';
    if (result.far !== null) {
      rarity = result.far >= 0.01
        ? `${Math.round(result.far * 100)} % of pairs of different people score this high.`
        : `Only about 1 in ${Math.round(1 / result.far).toLocaleString('en')} pairs of different people scores this high.`;
    }
    if (result.faces && (result.faces[0] > 1 || result.faces[1] > 1)) {
      rarity += ' A photo holds several faces: the largest near the centre was compared.';
    }
    $('rarity').textContent = rarity;
    // The verdict comes into view (below the photos on a small screen).
    $('result').scrollIntoView({ block: 'nearest', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    $('time').textContent = `${ms.toFixed(0)} ms on ${verifier.backend}`;
  } catch (e) {
    const hint = e.code === 'NO_FACE' ? 'No face was found in one of the images. ' : '';
    setStatus(`${hint}Comparison failed (${e.code}): ${e.message}`, true);
  }
  update();
}

/** The first image file among dropped or pasted items. */
const imageFile = (items) => Array.from(items ?? []).find((f) => f.type?.startsWith('image/'));
for (const which of ['a', 'b']) {
  const zone = $(`drop-${which}`);
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = imageFile(e.dataTransfer?.files);
    if (file) pick(which, file);
  });
}
// A pasted image goes to the focused photo, else to the first empty one (else the second).
document.addEventListener('paste', (e) => {
  const file = imageFile(e.clipboardData?.files);
  if (!file) return;
  e.preventDefault();
  const focused = document.activeElement?.closest?.('.drop')?.dataset.which;
  pick(focused ?? (!images.a && !picking.has('a') ? 'a' : 'b'), file);
});
$('file-a').addEventListener('change', (e) => e.target.files[0] && pick('a', e.target.files[0]));
$('file-b').addEventListener('change', (e) => e.target.files[0] && pick('b', e.target.files[0]));
for (const which of ['a', 'b']) {
  $(`snap-${which}`).addEventListener('click', () => {
    moveCameraTo($('camera-home'));
    pick(which, $('camera'));
  });
}
$('camera').addEventListener('loadeddata', update);
document.addEventListener('camera', update);
$('compare').addEventListener('click', compare);
$('backend').addEventListener('change', (e) => start(e.target.value));
const requested = new URLSearchParams(location.search).get('backend');
if (requested) $('backend').value = requested;
probe().finally(() => start($('backend').value));
