// The demo page's start and verify panels: say what this device can do, load the package as a
// user would (with progress), then compare two photos or camera snapshots, drawing the faces
// found and the aligned crops the model saw.
import { Verifier } from './webverify/index.js';
// The fine-tuning panel's training module, from the companion package (only URLs: the module
// itself is downloaded by the first fineTune).
import { training } from './webverify-training/index.js';

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
    setStatus(`Ready: backend ${verifier.backend}, ${verifier.wasmModule} module, model ${verifier.model.id}, loaded in ${Math.round(loaded)} ms, warm-up ${Math.round(performance.now() - w)} ms`);
    document.dispatchEvent(new CustomEvent('verifier', { detail: verifier }));
  } catch (e) {
    setStatus(`Could not start (${e.code}): ${e.message}`, true);
  }
  update();
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

async function pick(which, source) {
  // Pixels as stored in the file, as the native decoder reads them (no colour management).
  images[which] = await createImageBitmap(source, { colorSpaceConversion: 'none' });
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
      ? `same person (similarity ≥ ${result.threshold.toFixed(2)})`
      : `different people (similarity < ${result.threshold.toFixed(2)})`;
    $('verdict').className = result.match ? 'match' : 'no-match';
    if (result.far !== null) {
      // The estimated false-accept rate, in words: how often two different people score this high.
      const rarity = result.far >= 0.01
        ? `${Math.round(result.far * 100)} % of pairs of different people score this high`
        : `only about 1 in ${Math.round(1 / result.far).toLocaleString('en')} pairs of different people scores this high`;
      $('verdict').textContent += ` — ${rarity}`;
    }
    if (result.faces && (result.faces[0] > 1 || result.faces[1] > 1)) {
      $('verdict').textContent += ' (a photo holds several faces: the largest near the centre was compared)';
    }
    $('time').textContent = `${ms.toFixed(0)} ms on ${verifier.backend}`;
  } catch (e) {
    const hint = e.code === 'NO_FACE' ? 'No face was found in one of the images. ' : '';
    setStatus(`${hint}Comparison failed (${e.code}): ${e.message}`, true);
  }
  update();
}

$('file-a').addEventListener('change', (e) => e.target.files[0] && pick('a', e.target.files[0]));
$('file-b').addEventListener('change', (e) => e.target.files[0] && pick('b', e.target.files[0]));
$('snap-a').addEventListener('click', () => pick('a', $('camera')));
$('snap-b').addEventListener('click', () => pick('b', $('camera')));
$('camera').addEventListener('loadeddata', update);
document.addEventListener('camera', update);
$('compare').addEventListener('click', compare);
$('backend').addEventListener('change', (e) => start(e.target.value));
const requested = new URLSearchParams(location.search).get('backend');
if (requested) $('backend').value = requested;
probe().finally(() => start($('backend').value));
