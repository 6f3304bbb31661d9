import { Verifier } from 'webverify';

const $ = (id) => document.getElementById(id);
try {
  const verifier = await Verifier.create();
  $('result').textContent = `ready (${verifier.mode}, ${verifier.backend})`;
  const ready = () => { $('verify').disabled = !($('a').files.length && $('b').files.length); };
  $('a').addEventListener('change', ready);
  $('b').addEventListener('change', ready);
  $('verify').addEventListener('click', async () => {
    const [a, b] = await Promise.all([$('a').files[0], $('b').files[0]].map((f) => createImageBitmap(f)));
    try {
      const r = await verifier.verify(a, b);
      $('result').textContent = `${r.match ? 'same person' : 'different people'} (similarity ${r.similarity.toFixed(3)})`;
    } catch (e) {
      $('result').textContent = `${e.code}: ${e.message}`;
    }
  });
} catch (e) {
  $('result').textContent = `${e.code}: ${e.message}`;
}
