// Sample images made in the page for the fine-tuning demo: four kinds of drawn objects, each
// drawn several times with another position, size, rotation, lighting and noise. No photo of
// anyone is shipped; the point is to watch a model pull classes apart ("same object?").

const KINDS = [
  { name: 'red ring', draw: (c, s) => { c.strokeStyle = '#c0392b'; c.lineWidth = s * 0.18; c.beginPath(); c.arc(0, 0, s * 0.55, 0, 2 * Math.PI); c.stroke(); } },
  { name: 'blue triangle', draw: (c, s) => { c.fillStyle = '#2463b5'; c.beginPath(); c.moveTo(0, -s * 0.7); c.lineTo(s * 0.65, s * 0.5); c.lineTo(-s * 0.65, s * 0.5); c.closePath(); c.fill(); } },
  { name: 'green cross', draw: (c, s) => { c.fillStyle = '#1e8449'; c.fillRect(-s * 0.65, -s * 0.18, s * 1.3, s * 0.36); c.fillRect(-s * 0.18, -s * 0.65, s * 0.36, s * 1.3); } },
  { name: 'striped square', draw: (c, s) => { for (let i = 0; i < 5; i++) { c.fillStyle = i % 2 ? '#f5b041' : '#6e2c00'; c.fillRect(-s * 0.6 + (i * s * 1.2) / 5, -s * 0.6, (s * 1.2) / 5, s * 1.2); } } },
];

/** A seeded generator (mulberry32), so the samples are the same on every visit. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `perKind` 112x112 images of each kind: `{ images: ImageData[], labels: string[] }`. */
export function sampleImages(perKind = 4, seed = 7) {
  const rand = random(seed);
  const canvas = new OffscreenCanvas(112, 112);
  const c = canvas.getContext('2d', { willReadFrequently: true });
  const images = [];
  const labels = [];
  for (const kind of KINDS) {
    for (let i = 0; i < perKind; i++) {
      const grey = 150 + rand() * 90;
      c.setTransform(1, 0, 0, 1, 0, 0);
      c.fillStyle = `rgb(${grey}, ${grey}, ${grey * 0.95})`;
      c.fillRect(0, 0, 112, 112);
      c.translate(56 + (rand() - 0.5) * 24, 56 + (rand() - 0.5) * 24);
      c.rotate((rand() - 0.5) * 1.2);
      kind.draw(c, 30 + rand() * 14);
      const image = c.getImageData(0, 0, 112, 112);
      const light = 0.7 + rand() * 0.5;
      for (let p = 0; p < image.data.length; p += 4) {
        for (let k = 0; k < 3; k++) image.data[p + k] = image.data[p + k] * light + (rand() - 0.5) * 30;
      }
      images.push(image);
      labels.push(kind.name);
    }
  }
  return { images, labels };
}
