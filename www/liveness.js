// "Live person or photo?": the passive liveness check on five frames of the camera stream.
const $ = (id) => document.getElementById(id);
let verifier = null;

function update() {
  const camera = $('camera');
  $('liveness-check').disabled = !(verifier && camera.srcObject && camera.readyState >= 2);
}

async function check() {
  $('liveness-check').disabled = true;
  $('liveness-result').textContent = 'checking…';
  try {
    const r = await verifier.liveness($('camera'), { bpcer: Number($('liveness-bpcer').value), frames: 5, intervalMs: 120 });
    $('liveness-result').textContent = `${r.live ? 'live person' : 'not live (photo or screen?)'} — score ${r.score.toFixed(3)}, threshold ${r.threshold.toFixed(3)}, ${r.framesWithFace} of ${r.frameScores.length} frames with a face`;
    $('liveness-frames').textContent = r.frameScores.map((s) => (s === null ? 'no face' : s.toFixed(3))).join(', ');
  } catch (e) {
    $('liveness-result').textContent = e.code === 'NO_FACE' ? 'no face in front of the camera' : `failed (${e.code}): ${e.message}`;
  }
  update();
}

document.addEventListener('verifier', ({ detail }) => { verifier = detail; update(); });
$('camera').addEventListener('loadeddata', update);
document.addEventListener('camera', update);
$('liveness-check').addEventListener('click', check);
