// The demo's camera, as a phone needs it: the front camera first with a switch to the back one,
// inline playback (`playsinline`: iOS would otherwise take the video full screen), the camera
// released when the page goes to the background (the light goes off; a phone would stop or
// freeze it anyway) and opened again, with the same facing, when the page comes back. The
// verifier is not touched: a challenge or identification running on the stream stops with
// ABORTED or by its loop, and everything works again once the camera is back.
//
// One camera card serves every section: it moves to the section whose action uses it (enroll,
// identify, liveness, the challenge, a snapshot: once the click has landed, never under the
// pointer), or whose placeholder button asks for it; every other place holds a placeholder. The front camera's preview is mirrored (CSS), so overlays mirror
// their x coordinates (`toOverlay`); the guide (`guide`) draws the face outline, the motion
// asked and a countdown over the video for the liveness and challenge panels.
const $ = (id) => document.getElementById(id);
const video = $('camera');
const card = $('camera-card');
let facing = 'user';
let wanted = false;

/** Says on the page what the camera does (the camera card's status line). */
function say(text) {
  $('camera-status').textContent = text;
}

function release() {
  for (const t of video.srcObject?.getTracks() ?? []) t.stop();
  video.srcObject = null;
  document.body.classList.remove('camera-on');
}

/** The overlay canvas and every camera-shaped box take the video's own aspect ratio, so that
 * overlay coordinates are the video's pixels scaled, with no cropping. */
function fitToVideo() {
  if (!video.videoWidth) return;
  const overlay = $('overlay');
  overlay.width = video.videoWidth;
  overlay.height = video.videoHeight;
  document.documentElement.style.setProperty('--camera-aspect', `${video.videoWidth} / ${video.videoHeight}`);
}

/** Opens the camera facing `facing`; resolves once it plays. */
async function open() {
  release();
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: facing }, width: { ideal: 640 }, height: { ideal: 480 } } });
  video.srcObject = stream;
  // Shown from now: a video left out of the layout (display: none) may hold back its frames.
  document.body.classList.add('camera-on');
  // Played explicitly: `autoplay` does not always resume a stream set again on the same element
  // (Chromium left it paused, with a frame no createImageBitmap could read), and iOS wants a
  // play() call for inline video anyway.
  await video.play();
  if (video.readyState < 2) await new Promise((resolve) => { video.addEventListener('loadeddata', resolve, { once: true }); });
  video.dataset.facing = facing;
  fitToVideo();
  document.dispatchEvent(new CustomEvent('camera', { detail: { on: true, facing } }));
}

export async function startCamera() {
  wanted = true;
  try {
    await open();
    say(facing === 'user' ? 'Camera on (front).' : 'Camera on (back).');
    $('camera-switch').disabled = false;
  } catch (e) {
    wanted = false;
    say(e.name === 'NotAllowedError'
      ? 'The camera was refused: allow it in the address bar to use it here.'
      : `No camera could be opened (${e.name}).`);
  }
}

async function switchCamera() {
  facing = facing === 'user' ? 'environment' : 'user';
  $('camera-switch').textContent = facing === 'user' ? 'Use back camera' : 'Use front camera';
  if (wanted) await startCamera();
}

/** A box in video pixels as drawn on the overlay canvas (whose pixels are the video's): x
 * mirrored where the preview is. */
export function toOverlay(box) {
  const mirrored = video.dataset.facing !== 'environment';
  return { ...box, x: mirrored ? video.videoWidth - box.x - box.width : box.x };
}

const ARROWS = { turnLeft: 'rotate(-90) translate(0 -230)', turnRight: 'rotate(90) translate(0 -230)', lookUp: 'translate(0 -190)' };

/** The guide over the video: `outline` (where the face should be; green when `ok`), `arrow`
 * (a challenge motion: an arrow, or for a blink the word), `count` (big text at the bottom);
 * `guide(null)` hides it. */
export function guide(state) {
  const svg = $('guide');
  svg.toggleAttribute('hidden', !state);
  if (!state) return;
  svg.classList.toggle('ok', !!state.ok);
  svg.querySelector('.guide-face').style.display = state.outline === false ? 'none' : '';
  const arrow = $('guide-arrow');
  const transform = ARROWS[state.arrow];
  arrow.style.display = transform ? '' : 'none';
  // The arrow's shape points up from the origin: moved to the face's centre, turned, pushed out.
  if (transform) arrow.setAttribute('transform', `translate(320 230) ${transform}`);
  $('guide-count').textContent = state.arrow === 'blink' ? `blink${state.count ? ` · ${state.count}` : ''}` : (state.count ?? '');
}

/** A placeholder the size of the card, holding the place the card is not in: its button brings
 * the card here (and starts the camera when it is off). */
function placeholder() {
  const box = document.createElement('div');
  box.className = 'camera-placeholder';
  box.innerHTML = '<div class="stage-box"></div><div class="controls"><button class="button secondary" type="button">'
    + '<span class="when-off">Start camera</span><span class="when-on">Show the camera here</span></button></div>';
  box.querySelector('button').addEventListener('click', () => {
    moveCameraTo(box.parentElement);
    if (!video.srcObject) startCamera();
  });
  return box;
}

/** Moves the camera card into `place` (the compare section's home or a section's slot),
 * leaving a placeholder where it was. The video keeps playing: it is moved in one DOM
 * operation, never left outside the document. */
export function moveCameraTo(place) {
  if (!place || place.contains(card)) return;
  const from = card.parentElement;
  const held = place.querySelector('.camera-placeholder');
  place.replaceChildren(card);
  from.replaceChildren(held ?? placeholder());
  if (video.srcObject && video.paused) video.play().catch(() => {});
}

for (const slot of document.querySelectorAll('[data-camera-slot]')) slot.append(placeholder());

document.addEventListener('visibilitychange', async () => {
  if (!wanted) return;
  if (document.visibilityState === 'hidden') {
    release();
    document.dispatchEvent(new CustomEvent('camera', { detail: { on: false, facing } }));
    say('Camera paused while the page is in the background.');
  } else {
    await startCamera();
    if (wanted) say('Camera resumed.');
  }
});

video.addEventListener('loadedmetadata', fitToVideo);
$('camera-start').addEventListener('click', startCamera);
$('camera-switch').addEventListener('click', switchCamera);
