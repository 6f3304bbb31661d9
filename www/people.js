// "Enroll and identify": camera shots enrolled into a gallery that persists encrypted in
// IndexedDB, and live identification on the camera stream with the frame rate shown.
import { Gallery, IndexedDBStore } from './webverify/index.js';
import { moveCameraTo, toOverlay } from './camera.js';

const $ = (id) => document.getElementById(id);
let verifier = null;
let gallery = null;
let store = null;
let identifying = false;

/** The demo's AES key: made once, kept (non-extractable) in IndexedDB beside the gallery. */
async function demoKey() {
  const open = indexedDB.open('webverify-demo-keys', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('keys');
  const db = await new Promise((resolve, reject) => { open.onsuccess = () => resolve(open.result); open.onerror = () => reject(open.error); });
  const get = (tx) => new Promise((resolve) => { const r = tx.objectStore('keys').get('gallery'); r.onsuccess = () => resolve(r.result); });
  let key = await get(db.transaction('keys'));
  if (!key) {
    key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const tx = db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put(key, 'gallery');
    await new Promise((resolve) => { tx.oncomplete = resolve; });
  }
  db.close();
  return key;
}

function say(text) {
  $('camera-status').textContent = text;
}

async function showGallery() {
  const list = $('gallery-list');
  list.replaceChildren();
  for (const person of await gallery.list()) {
    const item = document.createElement('li');
    item.textContent = `${person.id} (${person.templates} shot${person.templates === 1 ? '' : 's'})`;
    const remove = document.createElement('button');
    remove.textContent = 'Delete';
    remove.className = 'button secondary';
    remove.setAttribute('aria-label', `Delete ${person.id}`);
    remove.addEventListener('click', async () => {
      await gallery.remove(person.id);
      await gallery.save(store);
      await showGallery();
    });
    item.append(remove);
    list.append(item);
  }
}

// The camera (opened, switched, paused in the background) is camera.js's; enrolling and
// identifying need it on.
document.addEventListener('camera', ({ detail: { on } }) => {
  $('enroll').disabled = !on;
  $('identify').disabled = !on;
  if (!on && identifying) toggleIdentify();
});

/** The shots of an enrollment, each with what was wrong with it (or "enrolled"). */
function showShots(shots, issues) {
  $('enroll-shots').replaceChildren(...shots.map((shot, i) => {
    const li = document.createElement('li');
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [shot.width, shot.height];
    canvas.getContext('2d').drawImage(shot, 0, 0);
    canvas.setAttribute('aria-hidden', 'true');
    const words = issues?.[i]?.length ? issues[i].map((x) => x.message).join('; ') : (issues ? 'enrolled' : 'taken');
    li.classList.toggle('issue', !!issues?.[i]?.length);
    li.append(canvas, Object.assign(document.createElement('span'), { textContent: `Shot ${i + 1}: ${words}` }));
    return li;
  }));
}

async function enroll() {
  const name = $('enroll-name').value.trim();
  if (!name) { say('Type a name first.'); return; }
  $('enroll').disabled = true;
  moveCameraTo($('people').querySelector('[data-camera-slot]'));
  const messages = $('enroll-messages');
  messages.replaceChildren();
  try {
    const shots = [];
    for (let i = 0; i < 3; i++) {
      say(`Shot ${i + 1} of 3…`);
      shots.push(await createImageBitmap($('camera')));
      showShots(shots);
      await new Promise((r) => setTimeout(r, 300));
    }
    const result = await gallery.enroll(name, shots);
    // The fine-tuning panel may train on this session's shots (kept in memory only).
    const kept = shots.filter((_, i) => result.issues[i].length === 0);
    if (kept.length) document.dispatchEvent(new CustomEvent('enrolled', { detail: { name, images: kept } }));
    showShots(shots, result.issues);
    result.issues.forEach((issues, i) => issues.forEach((issue) => {
      const li = document.createElement('li');
      li.textContent = `Shot ${i + 1}: ${issue.message}`;
      messages.append(li);
    }));
    say(`${result.enrolled} of 3 shots enrolled for ${name}.`);
    await gallery.save(store);
    await showGallery();
  } catch (e) {
    say(`Enrollment failed (${e.code}): ${e.message}`);
  }
  $('enroll').disabled = false;
}

async function identifyLoop() {
  const overlay = $('overlay');
  const ctx = overlay.getContext('2d');
  const video = $('camera');
  let frames = 0;
  let since = performance.now();
  while (identifying) {
    // One call per frame: identify detects, aligns, embeds, searches, and says which face.
    const who = await gallery.identify(video).catch((e) => (e.code === 'NO_FACE' ? null : Promise.reject(e)));
    // The overlay's pixels are the video's (camera.js); a phone turned sideways changes both.
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    if (who?.face) {
      // Known faces green, strangers amber; the name on a dark plate so it reads on any frame.
      const colour = who.match ? '#39d353' : '#f0b429';
      const f = toOverlay(who.face.box);
      const line = Math.max(2, overlay.width / 200);
      ctx.strokeStyle = colour;
      ctx.lineWidth = line;
      ctx.strokeRect(f.x, f.y, f.width, f.height);
      const label = who.match ? `${who.match} ${who.candidates[0].similarity.toFixed(2)}` : 'unknown';
      const size = Math.round(overlay.width / 28);
      ctx.font = `bold ${size}px system-ui`;
      const y = Math.max(size + 4, f.y);
      ctx.fillStyle = 'rgba(0, 0, 0, 0.7)';
      ctx.fillRect(f.x, y - size - 4, ctx.measureText(label).width + 10, size + 6);
      ctx.fillStyle = colour;
      ctx.fillText(label, f.x + 5, y - 4);
      overlay.dataset.label = label;
    }
    frames++;
    const elapsed = performance.now() - since;
    if (elapsed > 1000) {
      $('fps').textContent = `${(frames * 1000 / elapsed).toFixed(1)} identifications/s`;
      frames = 0;
      since = performance.now();
    }
  }
  ctx.clearRect(0, 0, overlay.width, overlay.height);
}

function toggleIdentify() {
  identifying = !identifying;
  $('identify').setAttribute('aria-pressed', String(identifying));
  $('identify').textContent = identifying ? 'Stop' : 'Identify live';
  // A call in flight when the camera paused may fail: stopped on purpose, nothing to say.
  if (identifying) moveCameraTo($('people').querySelector('[data-camera-slot]'));
  if (identifying) identifyLoop().catch((e) => { if (!identifying) return; identifying = false; say(`Identification stopped (${e.code}): ${e.message}`); });
}

document.addEventListener('verifier', async ({ detail }) => {
  identifying = false;
  verifier = detail;
  try {
    store = new IndexedDBStore({ database: 'webverify-demo', key: await demoKey() });
    gallery = (await Gallery.load(verifier, store)) ?? verifier.createGallery();
  } catch (e) {
    // A gallery of another model (or damaged) cannot be used: start a new one and say why.
    say(`The saved gallery could not be opened (${e.code}); starting an empty one.`);
    gallery = verifier.createGallery();
  }
  await showGallery();
  $('camera-start').disabled = false;
  $('gallery-export').disabled = false;
  $('gallery-import').disabled = false;
});
// After fine-tuning (or going back), bring the gallery to the new model: exact through an
// adapter; otherwise the people must be enrolled again.
document.addEventListener('model-changed', async () => {
  try {
    await gallery.migrate();
    say(`Gallery moved to model ${verifier.model.id}.`);
  } catch (e) {
    if (e.code !== 'MODEL_MISMATCH') throw e;
    const lost = (await gallery.list()).map((p) => p.id);
    gallery = verifier.createGallery();
    say(`The new model cannot use the old templates: enroll ${lost.join(', ') || 'people'} again.`);
  }
  await gallery.save(store);
  await showGallery();
});
/** Saves bytes as a file through a download link. */
function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

$('gallery-export').addEventListener('click', async () => {
  download(await gallery.toBytes(), 'gallery.webverify');
  say(`Exported ${await gallery.size()} people.`);
});
$('gallery-import').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    const imported = await Gallery.fromBytes(verifier, new Uint8Array(await file.arrayBuffer()));
    gallery = imported;
    await gallery.save(store);
    await showGallery();
    say(`Imported ${await gallery.size()} people from ${file.name}.`);
  } catch (err) {
    say(`That file cannot be used (${err.code}): ${err.message}`);
  }
  e.target.value = '';
});
$('enroll').addEventListener('click', enroll);
$('identify').addEventListener('click', toggleIdentify);
