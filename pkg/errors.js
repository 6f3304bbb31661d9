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
