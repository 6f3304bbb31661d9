// Whether one wasm-bindgen glue can load two builds of a module: the plain build's glue is
// shipped for both the plain and the relaxed-SIMD binaries, so the relaxed one must export the
// same names and import nothing the plain glue does not provide. (The glues' text may differ:
// LLVM inlines differently with relaxed SIMD and can prove an import, such as serde's
// `new Map()` behind a constant flag, dead in one build only; an unused import is harmless.)
//
// Usage: node tools/wasm-interface.mjs PLAIN.wasm RELAXED.wasm
// Reads the import and export sections of the binaries (no compilation: Node's V8 may not
// know relaxed SIMD).
import { readFileSync } from 'node:fs';

/** The module's imports (`module.name`) and exports (`name`), from its binary sections. */
export function wasmInterface(bytes) {
  let at = 8; // magic and version
  const u32 = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
  };
  const name = () => {
    const len = u32();
    const s = Buffer.from(bytes.subarray(at, at + len)).toString('utf8');
    at += len;
    return s;
  };
  const imports = [];
  const exports = [];
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const end = at + size;
    if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        imports.push(`${name()}.${name()}`);
        const kind = bytes[at++];
        if (kind === 0) u32(); // function: type index
        else if (kind === 1) { at++; const f = bytes[at++]; u32(); if (f & 1) u32(); } // table
        else if (kind === 2) { const f = bytes[at++]; u32(); if (f & 1) u32(); } // memory
        else if (kind === 3) at += 2; // global: type, mutability
        else throw new Error(`import kind ${kind}`);
      }
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        exports.push(name());
        at++;
        u32();
      }
    }
    at = end;
  }
  return { imports, exports };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [plainPath, relaxedPath] = process.argv.slice(2);
  const plain = wasmInterface(readFileSync(plainPath));
  const relaxed = wasmInterface(readFileSync(relaxedPath));
  const missing = relaxed.imports.filter((i) => !plain.imports.includes(i));
  const sameExports = JSON.stringify([...plain.exports].sort()) === JSON.stringify([...relaxed.exports].sort());
  if (missing.length || !sameExports) {
    console.error(`${relaxedPath} cannot be loaded by ${plainPath}'s glue: ` +
      `${missing.length ? `imports ${missing.join(', ')} missing; ` : ''}${sameExports ? '' : 'exports differ'}`);
    process.exit(1);
  }
}
