// "Prove you are there": challenge liveness on the camera stream — the SDK asks for motions in a
// random order and checks them frame by frame; this panel only shows what it asks and says.
const $ = (id) => document.getElementById(id);
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
    return li;
  }));
}

async function run() {
  running = new AbortController();
  update();
  $('challenge-result').textContent = 'running…';
  $('challenge-prompt').textContent = 'Look at the camera';
  try {
    const r = await verifier.challenge($('camera'), {
      signal: running.signal,
      onProgress: (s) => {
        showSteps(s.steps);
        if (s.action) $('challenge-prompt').textContent = PROMPTS[s.action];
      },
    });
    showSteps(r.steps);
    $('challenge-prompt').textContent = '–';
    const passive = r.passive ? `passive score ${r.passive.score.toFixed(3)} (threshold ${r.passive.threshold.toFixed(3)})` : 'no passive score';
    $('challenge-result').textContent = r.passed
      ? `passed in ${(r.elapsedMs / 1000).toFixed(1)} s — ${passive}`
      : `failed: ${FAILURES[r.failure] ?? r.failure} — ${passive}`;
  } catch (e) {
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
