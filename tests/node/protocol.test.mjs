// The worker protocol is declared once (pkg/protocol.js); the published types must declare
// exactly the methods it and the classes' own methods provide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { GALLERY_METHODS, SPECIAL_METHODS, VERIFIER_METHODS } from '../../pkg/protocol.js';

const dts = await readFile(new URL('../../pkg/index.d.ts', import.meta.url), 'utf8');

/** Instance method names declared in `export class <name> { … }` of index.d.ts. */
function declaredMethods(name) {
  const start = dts.indexOf(`export class ${name} {`);
  assert.ok(start >= 0, `index.d.ts declares class ${name}`);
  const body = dts.slice(start, dts.indexOf('\n}', start));
  return [...body.matchAll(/^ {2}([a-zA-Z]+)\(/gm)].map((m) => m[1]).sort();
}

test('index.d.ts declares every Verifier method of the protocol, and no other', () => {
  // `_`-named methods are the internal halves of public ones (the challenge's).
  const expected = [...Object.keys(VERIFIER_METHODS).filter((m) => !m.startsWith('_')), ...SPECIAL_METHODS].sort();
  assert.deepEqual(declaredMethods('Verifier'), expected);
});

test('index.d.ts declares every Gallery method of the protocol, and no other', () => {
  // save and dispose run on the caller's side in both modes.
  const expected = [...Object.keys(GALLERY_METHODS), 'save', 'dispose'].sort();
  assert.deepEqual(declaredMethods('Gallery'), expected);
});

test('every protocol entry names known argument kinds', () => {
  const kinds = new Set(['image', 'images', 'track', 'pairs', 'value']);
  for (const [name, { args }] of Object.entries({ ...VERIFIER_METHODS, ...GALLERY_METHODS })) {
    for (const k of args) assert.ok(kinds.has(k), `${name}: unknown argument kind ${k}`);
  }
});

// The public classes, as a user meets them (importing the package loads no engine: the host
// is loaded by the first inline call, or lives in the worker).
const { Verifier, Gallery } = await import('../../pkg/index.js');

/** Own method names of a prototype, constructor and accessors aside. */
function methodsOf(proto) {
  return Object.getOwnPropertyNames(proto)
    .filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, n).value === 'function')
    .sort();
}

test('the public Verifier has exactly the methods index.d.ts declares: no protocol internals', () => {
  assert.deepEqual(methodsOf(Verifier.prototype), declaredMethods('Verifier'));
  assert.deepEqual(methodsOf(Verifier.prototype).filter((m) => m.startsWith('_')), []);
  // mode, backend, wasmBuild, wasmModule and model are read-only views of the engine's state.
  for (const p of ['mode', 'backend', 'wasmBuild', 'wasmModule', 'model']) {
    const d = Object.getOwnPropertyDescriptor(Verifier.prototype, p);
    assert.ok(d?.get && !d.set, `${p} is a getter`);
  }
});

test('the public Gallery has exactly the methods index.d.ts declares', () => {
  assert.deepEqual(methodsOf(Gallery.prototype), declaredMethods('Gallery'));
});

test('the package exports one class per concept', async () => {
  const exported = Object.keys(await import('../../pkg/index.js')).sort();
  assert.deepEqual(exported, ['Gallery', 'IndexedDBStore', 'Verifier', 'WebverifyError', 'default']);
});
