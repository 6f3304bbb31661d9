import { useState } from 'react';
import { useVerifier } from './useVerifier.js';

function Verify() {
  const { verifier, error } = useVerifier({ backend: 'cpu' });
  const [files, setFiles] = useState({ a: null, b: null });
  const [result, setResult] = useState('');
  if (error) return <p role="alert">{error.code}: {error.message}</p>;
  if (!verifier) return <p>Loading the verifier…</p>;
  const pick = (which) => (e) => setFiles({ ...files, [which]: e.target.files[0] ?? null });
  const verify = async () => {
    try {
      const [a, b] = await Promise.all([files.a, files.b].map((f) => createImageBitmap(f)));
      const r = await verifier.verify(a, b);
      setResult(`${r.match ? 'same person' : 'different people'} (similarity ${r.similarity.toFixed(3)})`);
    } catch (e) {
      setResult(`${e.code}: ${e.message}`);
    }
  };
  return (
    <section>
      <p>Ready ({verifier.mode}).</p>
      <label>First photo <input id="a" type="file" accept="image/*" onChange={pick('a')} /></label>
      <label>Second photo <input id="b" type="file" accept="image/*" onChange={pick('b')} /></label>
      <button id="verify" disabled={!files.a || !files.b} onClick={verify}>Verify</button>
      <output id="result" aria-live="polite">{result}</output>
    </section>
  );
}

export function App() {
  const [shown, setShown] = useState(true);
  return (
    <main>
      <h1>Same person?</h1>
      <button id="toggle" onClick={() => setShown(!shown)}>{shown ? 'Close' : 'Open'} the verifier</button>
      {shown && <Verify />}
    </main>
  );
}
