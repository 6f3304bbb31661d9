import { useEffect, useState } from 'react';
import { Verifier } from 'webverify';

/** A Verifier for the component's life: created on mount, disposed on unmount. Under StrictMode
 * (and on a fast remount) the effect runs, cleans up and runs again: the first verifier, still
 * loading or not, is disposed, so that one engine (one worker) is left. */
export function useVerifier(options) {
  const [state, setState] = useState({ verifier: null, error: null });
  useEffect(() => {
    let disposed = false;
    let verifier = null;
    Verifier.create(options).then(
      (v) => {
        if (disposed) v.dispose();
        else setState({ verifier: (verifier = v), error: null });
      },
      (error) => { if (!disposed) setState({ verifier: null, error }); },
    );
    return () => {
      disposed = true;
      verifier?.dispose();
    };
    // The options are read once, when the component mounts.
  }, []);
  return state;
}
