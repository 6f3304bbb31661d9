/** An Error with a machine-readable `code` (see ErrorCode in index.d.ts). */
export class WebverifyError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'WebverifyError';
    this.code = code;
  }
}

/** Any thrown value as a WebverifyError, keeping the wasm error's code. */
export function wrapError(e) {
  if (e instanceof WebverifyError) return e;
  const code = e && typeof e.code === 'string' ? e.code : 'INTERNAL';
  const message = e && e.message ? e.message : String(e);
  return new WebverifyError(code, message, { cause: e });
}

/** Makes each named method of `proto` async and rejecting only with WebverifyError: the one
 * error wrapper of the public API (a synchronous throw becomes a rejected promise too).
 * `around(self, call)` runs each call (recovery.js's trap guard for the engine's methods). */
export function guardMethods(proto, names, around = (self, call) => call()) {
  for (const name of names) {
    const method = proto[name];
    Object.defineProperty(proto, name, {
      value: async function (...args) {
        try {
          return await around(this, () => method.apply(this, args));
        } catch (e) {
          throw wrapError(e);
        }
      },
      writable: true,
      configurable: true,
    });
  }
}
