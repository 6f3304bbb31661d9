// Are two image files the same person? webverify in Node.js (20+): the CPU engine, on this thread.
// Images are decoded with sharp (libvips), as a Node service would: EXIF orientation applied,
// RGBA pixels handed to the verifier as { data, width, height }.
//
//   npm install webverify sharp
//   node verify.mjs photo-a.jpg photo-b.jpg
import sharp from 'sharp';
import { Verifier } from 'webverify';

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node verify.mjs <image> <image>');
  process.exit(2);
}

/** The file's pixels, upright, as RGBA bytes. */
async function pixels(file) {
  const { data, info } = await sharp(file).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const verifier = await Verifier.create();
try {
  const r = await verifier.verify(await pixels(a), await pixels(b));
  // `far`: the share of pairs of different people that score this high (calibrated).
  const rarity = r.far === null ? '' : `; different people score this high ${r.far < 1e-4 ? 'less than 1 time in 10 000' : `${(r.far * 100).toFixed(2)} % of the time`}`;
  console.log(`${r.match ? 'same person' : 'different people'}: similarity ${r.similarity.toFixed(3)}, threshold ${r.threshold.toFixed(3)}${rarity}`);
  process.exitCode = r.match ? 0 : 1;
} catch (e) {
  // A WebverifyError: e.code says what went wrong (NO_FACE, INVALID_INPUT, …).
  console.error(`${e.code ?? 'ERROR'}: ${e.message}`);
  process.exitCode = 3;
} finally {
  verifier.dispose();
}
