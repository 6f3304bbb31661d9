'use client';
import { useEffect, useState } from 'react';
import { Verifier } from 'webverify';

export function Verify() {
  const [verifier, setVerifier] = useState(null);
  const [status, setStatus] = useState('loading…');
  const [files, setFiles] = useState({ a: null, b: null });
  useEffect(() => {
    // Effects run in the browser only: the engine never starts during server rendering.
    let disposed = false;
    let made = null;
    Verifier.create().then(
      (v) => {
        if (disposed) return v.dispose();
        made = v;
        setVerifier(v);
        setStatus(`ready (${v.mode}, ${v.backend})`);
      },
      (e) => setStatus(`${e.code}: ${e.message}`),
    );
    return () => { disposed = true; made?.dispose(); };
  }, []);
  const pick = (which) => (e) => setFiles((f) => ({ ...f, [which]: e.target.files[0] ?? null }));
  const verify = async () => {
    const [a, b] = await Promise.all([files.a, files.b].map((f) => createImageBitmap(f)));
    try {
      const r = await verifier.verify(a, b);
      setStatus(`${r.match ? 'same person' : 'different people'} (similarity ${r.similarity.toFixed(3)})`);
    } catch (e) {
      setStatus(`${e.code}: ${e.message}`);
    }
  };
  return (
    <section>
      <p><label>First photo <input id="a" type="file" accept="image/*" onChange={pick('a')} /></label></p>
      <p><label>Second photo <input id="b" type="file" accept="image/*" onChange={pick('b')} /></label></p>
      <p>
        <button id="verify" disabled={!verifier || !files.a || !files.b} onClick={verify}>Verify</button>{' '}
        <output id="result" aria-live="polite">{status}</output>
      </p>
    </section>
  );
}
