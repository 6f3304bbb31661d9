import { Verifier } from 'webverify';
// The companion package with the training module (only URLs here; the module is downloaded by
// the first fineTune). Leave it out if the app never fine-tunes.
import { training } from 'webverify-training';

const $ = (id) => document.getElementById(id);
const photos = () => Promise.all([$('a').files[0], $('b').files[0]].map((f) => createImageBitmap(f)));
// `?backend=webgpu` or `cpu`; the default, `auto`, picks by measurement.
const backend = new URLSearchParams(location.search).get('backend') ?? 'auto';
try {
  const verifier = await Verifier.create({ backend, training });
  $('result').textContent = `ready (${verifier.mode}, ${verifier.backend})`;
  const ready = () => { $('verify').disabled = $('tune').disabled = !($('a').files.length && $('b').files.length); };
  $('a').addEventListener('change', ready);
  $('b').addEventListener('change', ready);
  $('verify').addEventListener('click', async () => {
    try {
      const r = await verifier.verify(...await photos());
      $('result').textContent = `${r.match ? 'same person' : 'different people'} (similarity ${r.similarity.toFixed(3)})`;
    } catch (e) {
      $('result').textContent = `${e.code}: ${e.message}`;
    }
  });
  // On-device fine-tuning (self-supervised, on the two photos: a demonstration; an app tunes on
  // many images of its own domain).
  $('tune').addEventListener('click', async () => {
    try {
      const r = await verifier.fineTune({ images: await photos(), steps: 3, batchSize: 2 });
      $('result').textContent = `tuned: ${r.losses.length} steps, loss ${r.losses.at(-1).toFixed(3)}, model ${r.modelId.slice(0, 12)}`;
    } catch (e) {
      $('result').textContent = `${e.code}: ${e.message}`;
    }
  });
} catch (e) {
  $('result').textContent = `${e.code}: ${e.message}`;
}
