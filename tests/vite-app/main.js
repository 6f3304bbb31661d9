// A minimal app as a user writes it: `npm install webverify` (the packed tarball) and import it;
// Vite must find the wasm module and the weights on its own.
import { Verifier } from 'webverify';

const out = document.getElementById('result');
try {
  const v = await Verifier.create({ backend: new URLSearchParams(location.search).get('backend') ?? 'cpu' });
  const pixels = new Uint8ClampedArray(112 * 112 * 4).map((_, i) => (i * 7) % 251);
  const e = await v.embed(new ImageData(pixels, 112, 112), { face: 'none' });
  const faces = await v.detect(new ImageData(pixels, 112, 112));
  out.textContent = `ok ${v.backend} dim ${e.length} faces ${faces.length}`;
} catch (e) {
  out.textContent = `error ${e.code}: ${e.message}`;
}
