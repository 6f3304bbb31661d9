// "Fine-tune on device": train the embedder in this browser on the people enrolled in this
// session (their camera shots, kept in memory only) or on drawn sample objects, with a live loss
// curve, steps per second and cancel; then the similarity matrix and the same/different score
// histograms before and after, so the classes can be seen pulling apart.
import { sampleImages } from './samples.js';

const $ = (id) => document.getElementById(id);
let verifier = null;
let controller = null;
/** Camera shots of the people enrolled in this session: name → ImageBitmap[] (never stored). */
const shots = new Map();

function say(text) {
  $('tune-status').textContent = text;
}

function trainingSet() {
  if ($('tune-data').value === 'people') {
    const images = [];
    const labels = [];
    for (const [name, list] of shots) {
      for (const shot of list) { images.push(shot); labels.push(name); }
    }
    return { images, labels, face: 'detect' };
  }
  return { ...sampleImages(4), face: 'none' };
}

/** Cosine similarity matrix of unit embeddings. */
function similarities(embeddings) {
  return embeddings.map((a) => embeddings.map((b) => a.reduce((s, v, k) => s + v * b[k], 0)));
}

/** The loss so far as a line, scaled to its own range. */
function drawLoss(losses, steps) {
  const canvas = $('tune-loss');
  const c = canvas.getContext('2d');
  const [w, h] = [canvas.width, canvas.height];
  c.clearRect(0, 0, w, h);
  c.fillStyle = '#fafafa';
  c.fillRect(0, 0, w, h);
  if (losses.length === 0) return;
  const max = Math.max(...losses);
  const min = Math.min(...losses);
  const y = (v) => h - 14 - ((v - min) / (max - min || 1)) * (h - 28);
  c.strokeStyle = '#2463b5';
  c.lineWidth = 2;
  c.beginPath();
  losses.forEach((v, i) => (i ? c.lineTo : c.moveTo).call(c, 8 + (i / Math.max(1, steps - 1)) * (w - 16), y(v)));
  c.stroke();
  c.fillStyle = '#1b1b1b';
  c.font = '12px system-ui';
  c.fillText(`loss ${losses.at(-1).toFixed(3)} (from ${losses[0].toFixed(3)})`, 8, 12);
  canvas.dataset.points = String(losses.length);
}

/** A similarity matrix as a heat map from `lo` (white) to 1 (dark green): the same scale
 * before and after, so the two can be compared. */
function drawMatrix(canvas, matrix, lo) {
  const c = canvas.getContext('2d');
  const n = matrix.length;
  const cell = canvas.width / n;
  matrix.forEach((row, i) => row.forEach((s, j) => {
    const t = Math.max(0, Math.min(1, (s - lo) / (1 - lo || 1)));
    c.fillStyle = `rgb(${Math.round(255 - 245 * t)}, ${Math.round(255 - 160 * t)}, ${Math.round(255 - 210 * t)})`;
    c.fillRect(j * cell, i * cell, Math.ceil(cell), Math.ceil(cell));
  }));
}

/** Histograms of same-label (green) and different-label (red) similarities over [−1, 1]. */
function drawHistogram(canvas, matrix, labels) {
  const c = canvas.getContext('2d');
  const [w, h] = [canvas.width, canvas.height];
  const bins = 20;
  const same = new Array(bins).fill(0);
  const different = new Array(bins).fill(0);
  for (let i = 0; i < matrix.length; i++) {
    for (let j = i + 1; j < matrix.length; j++) {
      const b = Math.min(bins - 1, Math.max(0, Math.floor(((matrix[i][j] + 1) / 2) * bins)));
      (labels[i] === labels[j] ? same : different)[b]++;
    }
  }
  const norm = (xs) => { const total = xs.reduce((a, b) => a + b, 0) || 1; return xs.map((x) => x / total); };
  const [s, d] = [norm(same), norm(different)];
  const top = Math.max(...s, ...d) || 1;
  c.clearRect(0, 0, w, h);
  c.fillStyle = '#fafafa';
  c.fillRect(0, 0, w, h);
  const bar = w / bins;
  for (let b = 0; b < bins; b++) {
    c.fillStyle = 'rgba(155, 28, 28, 0.55)';
    c.fillRect(b * bar, h - 14 - (d[b] / top) * (h - 28), bar - 1, (d[b] / top) * (h - 28));
    c.fillStyle = 'rgba(10, 107, 45, 0.55)';
    c.fillRect(b * bar, h - 14 - (s[b] / top) * (h - 28), bar - 1, (s[b] / top) * (h - 28));
  }
  c.fillStyle = '#1b1b1b';
  c.font = '11px system-ui';
  c.fillText('−1', 2, h - 2);
  c.fillText('similarity', w / 2 - 24, h - 2);
  c.fillText('1', w - 10, h - 2);
}

/** The lowest similarity before training: the colour scale of both matrices. */
let scaleFrom = 0;

async function show(which, set) {
  const embeddings = await verifier.embedBatch(set.images, { face: set.face });
  const matrix = similarities(embeddings);
  if (which === 'before') scaleFrom = Math.min(...matrix.flat());
  drawMatrix($(`tune-matrix-${which}`), matrix, scaleFrom);
  drawHistogram($(`tune-hist-${which}`), matrix, set.labels);
  // Mean similarity of same-label and different-label pairs, for the summary line.
  let [same, nSame, diff, nDiff] = [0, 0, 0, 0];
  for (let i = 0; i < matrix.length; i++) {
    for (let j = i + 1; j < matrix.length; j++) {
      if (set.labels[i] === set.labels[j]) { same += matrix[i][j]; nSame++; } else { diff += matrix[i][j]; nDiff++; }
    }
  }
  return { same: same / (nSame || 1), different: diff / (nDiff || 1) };
}

async function train() {
  const set = trainingSet();
  if (new Set(set.labels).size < 2) {
    say('Enroll at least two people in this session first, or use the sample objects.');
    return;
  }
  $('tune-train').disabled = true;
  $('tune-cancel').disabled = false;
  controller = new AbortController();
  const steps = Number($('tune-steps').value);
  const losses = [];
  drawLoss(losses, steps);
  try {
    say('Embedding the training images with the current model…');
    const before = await show('before', set);
    say('Training…');
    const result = await verifier.fineTune({
      images: set.images,
      labels: set.labels,
      face: set.face,
      loss: $('tune-loss-kind').value,
      trainable: $('tune-trainable').value,
      steps,
      batchSize: 8,
      lr: $('tune-trainable').value === 'adapter' ? 3e-3 : 1e-3,
      signal: controller.signal,
      onLoad: ({ loaded, total }) => say(`Loading the training module: ${(loaded / 1e6).toFixed(1)}${total ? ` of ${(total / 1e6).toFixed(1)}` : ''} MB…`),
      onProgress: (p) => {
        losses.push(p.loss);
        drawLoss(losses, steps);
        $('tune-rate').textContent = `${p.step}/${p.steps} steps, ${(p.step / (p.ms / 1000)).toFixed(2)} steps/s`;
      },
    });
    const after = await show('after', set);
    say(`Tuned in ${(result.ms / 1000).toFixed(1)} s (model ${result.modelId}). Mean similarity of the same ${$('tune-data').value === 'people' ? 'person' : 'object'}: ${before.same.toFixed(2)} → ${after.same.toFixed(2)}; of different ones: ${before.different.toFixed(2)} → ${after.different.toFixed(2)}. ${calibrationLine(result.calibration)}`);
    $('tune-status').dataset.done = 'true';
    document.dispatchEvent(new CustomEvent('model-changed'));
  } catch (e) {
    say(e.code === 'ABORTED' ? 'Cancelled: the model is unchanged.' : `Fine-tuning failed (${e.code}): ${e.message}`);
  }
  controller = null;
  $('tune-train').disabled = false;
  $('tune-cancel').disabled = true;
}

/** What the tuned model's thresholds rest on: the held-back classes, or why it kept the old ones. */
function calibrationLine(c) {
  if (c.inherited) return `Calibration: the previous model's, kept (${c.reason}).`;
  const fitted = c.thresholds.filter((t) => t.source === 'refit').map((t) => `FAR ${t.far}: ${t.threshold.toFixed(3)}`);
  return `Calibrated on ${c.heldBackClasses} held-back classes (${c.heldBackImages} images, ${c.impostors} impostor pairs): ${fitted.join(', ')}.`;
}

async function reset() {
  await verifier.resetModel();
  say(`Back to the shipped model ${verifier.model.id}.`);
  document.dispatchEvent(new CustomEvent('model-changed'));
}

document.addEventListener('verifier', ({ detail }) => {
  verifier = detail;
  shots.clear();
  for (const id of ['tune-train', 'tune-reset', 'tune-export', 'tune-import']) $(id).disabled = false;
});
$('tune-export').addEventListener('click', async () => {
  const bytes = await verifier.exportTuned();
  if (!bytes) { say('The shipped model is in use: train first.'); return; }
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  Object.assign(document.createElement('a'), { href: url, download: `${verifier.model.id}.safetensors` }).click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  say(`Saved ${verifier.model.id} (${(bytes.length / 1024).toFixed(0)} KiB): only the tuned layers, tied to the shipped model.`);
});
$('tune-import').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    await verifier.importTuned(new Uint8Array(await file.arrayBuffer()));
    say(`Loaded ${file.name}: model ${verifier.model.id}, tuned with ${verifier.model.tuned.loss} (${verifier.model.tuned.scope}).`);
    document.dispatchEvent(new CustomEvent('model-changed'));
  } catch (err) {
    say(`That file cannot be used (${err.code}): ${err.message}`);
  }
  e.target.value = '';
});
document.addEventListener('enrolled', ({ detail: { name, images } }) => {
  shots.set(name, [...(shots.get(name) ?? []), ...images]);
  $('tune-people').textContent = `${shots.size} ${shots.size === 1 ? 'person' : 'people'} enrolled in this session`;
});
$('tune-train').addEventListener('click', train);
$('tune-cancel').addEventListener('click', () => controller?.abort());
$('tune-reset').addEventListener('click', reset);
