// The first demo page: load the package as a user would, compare two images.
import { Verifier } from './webverify/index.js';

const $ = (id) => document.getElementById(id);
const images = { a: null, b: null };
let verifier = null;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

async function start(backend) {
  $('compare').disabled = true;
  verifier?.dispose();
  verifier = null;
  setStatus('Loading the model…');
  const t = performance.now();
  try {
    verifier = await Verifier.create({ backend });
    document.dispatchEvent(new CustomEvent('verifier', { detail: verifier }));
    setStatus(`Ready: backend ${verifier.backend}, model ${verifier.model.id}, loaded in ${Math.round(performance.now() - t)} ms`);
  } catch (e) {
    setStatus(`Could not start (${e.code}): ${e.message}`, true);
  }
  update();
}

function update() {
  $('compare').disabled = !(verifier && images.a && images.b);
}

async function pick(which, file) {
  // Pixels as stored in the file, as the native decoder reads them (no colour management).
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none' });
  images[which] = bitmap;
  const canvas = $(`view-${which}`);
  const ctx = canvas.getContext('2d');
  const scale = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, 0, 0, bitmap.width * scale, bitmap.height * scale);
  update();
}

async function compare() {
  $('compare').disabled = true;
  try {
    const t = performance.now();
    const result = await verifier.verify(images.a, images.b);
    const ms = performance.now() - t;
    // Show what the model saw: the aligned 112x112 crops.
    for (const which of ['a', 'b']) {
      $(`crop-${which}`).getContext('2d').putImageData(await verifier.alignedFace(images[which]), 0, 0);
    }
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
    $('time').textContent = `${ms.toFixed(0)} ms on ${verifier.backend}`;
  } catch (e) {
    const hint = e.code === 'NO_FACE' ? 'No face was found in one of the images. ' : '';
    setStatus(`${hint}Comparison failed (${e.code}): ${e.message}`, true);
  }
  update();
}

$('file-a').addEventListener('change', (e) => e.target.files[0] && pick('a', e.target.files[0]));
$('file-b').addEventListener('change', (e) => e.target.files[0] && pick('b', e.target.files[0]));
$('compare').addEventListener('click', compare);
$('backend').addEventListener('change', (e) => start(e.target.value));
const requested = new URLSearchParams(location.search).get('backend');
if (requested) $('backend').value = requested;
start($('backend').value);
