// "Prove you are there": challenge liveness on the camera stream — the SDK asks for motions in a
// random order and checks them frame by frame; this panel shows what it asks on the video (the
// face outline, the motion as an arrow, the seconds left for it) and what it says.
import { guide, moveCameraTo } from './camera.js';

const $ = (id) => document.getElementById(id);
/** The SDK's default time per motion (ChallengeOptions.stepMs). */
const STEP_MS = 5000;
let verifier = null;
let running = null;

const PROMPTS = {
  blink: 'Close your eyes for a moment, then open them',
  turnLeft: 'Turn your head to your left, then back',
  turnRight: 'Turn your head to your right, then back',
  lookUp: 'Look up, then back',
};
const FAILURES = {
  noNeutralFace: 'no face looking at the camera',
  timeout: 'the motion was not made in time',
  wrongMotion: 'another motion than the one asked',
  faceLost: 'the face left the camera',
  faceChanged: 'the face changed place (another face?)',
  notLive: 'the motions passed, but the face looks like a photo or screen',
};

function update() {
  const camera = $('camera');
  const ready = verifier && camera.srcObject && camera.readyState >= 2;
  $('challenge-start').disabled = !ready || running !== null;
  $('challenge-stop').disabled = running === null;
}

function showSteps(steps) {
  $('challenge-steps').replaceChildren(...steps.map((s) => {
    const li = document.createElement('li');
    li.textContent = `${PROMPTS[s.action]}: ${s.passed ? `done in ${(s.ms / 1000).toFixed(1)} s` : '…'}`;
    li.classList.toggle('done', s.passed);
    return li;
  }));
}

async function run() {
  running = new AbortController();
  update();
  moveCameraTo($('challenge').querySelector('[data-camera-slot]'));
  $('challenge-result').textContent = 'running…';
  $('challenge-result').className = '';
  $('challenge-prompt').textContent = 'Look at the camera';
  // The motion asked and since when, for the countdown drawn on the video.
  let asked = null;
  let since = performance.now();
  const tick = setInterval(() => {
    const left = asked ? Math.max(0, Math.ceil((STEP_MS - (performance.now() - since)) / 1000)) : null;
    guide({ outline: true, arrow: asked, count: left === null ? 'look here' : String(left) });
  }, 200);
  try {
    const r = await verifier.challenge($('camera'), {
      signal: running.signal,
      onProgress: (s) => {
        showSteps(s.steps);
        if (s.action !== asked) { asked = s.action; since = performance.now(); }
        if (s.action) $('challenge-prompt').textContent = PROMPTS[s.action];
      },
    });
    showSteps(r.steps);
    $('challenge-prompt').textContent = '–';
    const passive = r.passive ? `passive score ${r.passive.score.toFixed(3)} (threshold ${r.passive.threshold.toFixed(3)})` : 'no passive score';
    $('challenge-result').textContent = r.passed
      ? `passed in ${(r.elapsedMs / 1000).toFixed(1)} s — ${passive}`
      : `failed: ${FAILURES[r.failure] ?? r.failure} — ${passive}`;
    $('challenge-result').className = r.passed ? 'match' : 'no-match';
    clearInterval(tick);
    guide({ outline: true, ok: r.passed, count: r.passed ? 'passed' : 'failed' });
    setTimeout(() => { if (!running) guide(null); }, 2000);
  } catch (e) {
    clearInterval(tick);
    guide(null);
    $('challenge-prompt').textContent = '–';
    // Stopped by the button, or by the package (the page went to the background, the camera stopped).
    const byUser = running.signal.aborted;
    $('challenge-result').textContent = e.code === 'ABORTED' ? (byUser ? 'stopped' : `stopped: ${e.message}`) : `error (${e.code}): ${e.message}`;
  }
  running = null;
  update();
}

document.addEventListener('verifier', ({ detail }) => { verifier = detail; update(); });
$('camera').addEventListener('loadeddata', update);
document.addEventListener('camera', update);
$('challenge-start').addEventListener('click', run);
$('challenge-stop').addEventListener('click', () => running?.abort());
