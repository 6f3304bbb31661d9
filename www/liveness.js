// "Live person or photo?": the passive liveness check on five frames of the camera stream, with
// the face outline on the video while it samples, then each frame's score as a bar against the
// threshold.
import { guide, moveCameraTo } from './camera.js';

const $ = (id) => document.getElementById(id);
let verifier = null;

function update() {
  const camera = $('camera');
  $('liveness-check').disabled = !(verifier && camera.srcObject && camera.readyState >= 2);
}

/** One bar per frame (its live probability; a stub where no face was found), and the
 * threshold as a dashed line. */
function drawBars(r) {
  const bars = r.frameScores.map((s) => {
    const bar = document.createElement('div');
    bar.className = s === null ? 'bar none' : 'bar';
    if (s !== null) bar.style.height = `${Math.max(4, s * 100)}%`;
    bar.title = s === null ? 'no face' : s.toFixed(3);
    return bar;
  });
  const line = Object.assign(document.createElement('div'), { className: 'threshold' });
  line.style.bottom = `${r.threshold * 100}%`;
  $('liveness-bars').replaceChildren(...bars, line);
}

async function check() {
  $('liveness-check').disabled = true;
  moveCameraTo($('liveness').querySelector('[data-camera-slot]'));
  $('liveness-result').textContent = 'checking…';
  $('liveness-result').className = '';
  guide({ outline: true, count: 'hold still' });
  try {
    const r = await verifier.liveness($('camera'), { bpcer: Number($('liveness-bpcer').value), frames: 5, intervalMs: 120 });
    $('liveness-result').textContent = `${r.live ? 'live person' : 'not live (photo or screen?)'} — score ${r.score.toFixed(3)}, threshold ${r.threshold.toFixed(3)}, ${r.framesWithFace} of ${r.frameScores.length} frames with a face`;
    $('liveness-result').className = r.live ? 'match' : 'no-match';
    $('liveness-frames').textContent = r.frameScores.map((s) => (s === null ? 'no face' : s.toFixed(3))).join(', ');
    drawBars(r);
  } catch (e) {
    $('liveness-result').textContent = e.code === 'NO_FACE' ? 'no face in front of the camera' : `failed (${e.code}): ${e.message}`;
  }
  guide(null);
  update();
}

document.addEventListener('verifier', ({ detail }) => { verifier = detail; update(); });
$('camera').addEventListener('loadeddata', update);
document.addEventListener('camera', update);
$('liveness-check').addEventListener('click', check);
