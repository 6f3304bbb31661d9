// The demo's camera, as a phone needs it: the front camera first with a switch to the back one,
// inline playback (`playsinline`: iOS would otherwise take the video full screen), the camera
// released when the page goes to the background (the light goes off; a phone would stop or
// freeze it anyway) and opened again, with the same facing, when the page comes back. The
// verifier is not touched: a challenge or identification running on the stream stops with
// ABORTED or by its loop, and everything works again once the camera is back. The <video> keeps
// its aspect ratio through orientation changes (CSS), and the panels read its size per frame.
const $ = (id) => document.getElementById(id);
const video = $('camera');
let facing = 'user';
let wanted = false;

/** Says on the page what the camera does (the people panel's status line). */
function say(text) {
  $('camera-status').textContent = text;
}

function release() {
  for (const t of video.srcObject?.getTracks() ?? []) t.stop();
  video.srcObject = null;
}

/** Opens the camera facing `facing`; resolves once it plays. */
async function open() {
  release();
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: facing }, width: { ideal: 640 }, height: { ideal: 480 } } });
  video.srcObject = stream;
  // Played explicitly: `autoplay` does not always resume a stream set again on the same element
  // (Chromium left it paused, with a frame no createImageBitmap could read), and iOS wants a
  // play() call for inline video anyway.
  await video.play();
  if (video.readyState < 2) await new Promise((resolve) => { video.addEventListener('loadeddata', resolve, { once: true }); });
  video.dataset.facing = facing;
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
      ? 'The camera was refused: allow it in the address bar to enroll and identify.'
      : `No camera could be opened (${e.name}).`);
  }
}

async function switchCamera() {
  facing = facing === 'user' ? 'environment' : 'user';
  $('camera-switch').textContent = facing === 'user' ? 'Use back camera' : 'Use front camera';
  if (wanted) await startCamera();
}

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

$('camera-start').addEventListener('click', startCamera);
$('camera-switch').addEventListener('click', switchCamera);
