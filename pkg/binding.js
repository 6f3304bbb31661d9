// Which transport (transport.js) each public Verifier speaks through. Kept here, out of the
// public classes, so that Gallery can reach its verifier's transport without a protocol method
// on Verifier's public surface.
import { WebverifyError } from './errors.js';

const transports = new WeakMap();

export function bindTransport(verifier, transport) {
  transports.set(verifier, transport);
}

/** The transport of `verifier`; INVALID_INPUT for anything that is not a Verifier. */
export function transportOf(verifier) {
  const transport = transports.get(verifier);
  if (!transport) throw new WebverifyError('INVALID_INPUT', 'expected a Verifier made by Verifier.create()');
  return transport;
}
