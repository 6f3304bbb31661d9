// Removes superseded test and command binaries from a cargo build directory's deps folder:
// every `cargo test` after a source change links each integration test anew (300-600 MB each
// with debug info) beside the old one, and cargo never deletes the old. On the development
// machine they had reached 25 GB in a day. For each name the newest KEEP binaries are kept: one
// name can belong to several live binaries (`webverify-…` is the library's unit tests, the
// command and the command's unit tests), and the next run uses those unless the sources change.
//
// Usage: node tools/prune-target.mjs DIR   (e.g. ~/.cache/webverify/target/debug/deps)
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const KEEP = 3;
const dir = process.argv[2];
if (!dir) throw new Error('usage: node tools/prune-target.mjs DEPS_DIR');
if (!existsSync(dir)) process.exit(0);
const byName = new Map();
for (const file of readdirSync(dir)) {
  // Binaries are `name-<16 hex digits>` without an extension (libraries have one).
  const m = /^(.+)-[0-9a-f]{16}$/.exec(file);
  if (!m) continue;
  const stat = statSync(join(dir, file));
  if (!stat.isFile() || (stat.mode & 0o111) === 0) continue;
  const list = byName.get(m[1]) ?? [];
  list.push({ file, mtime: stat.mtimeMs, size: stat.size });
  byName.set(m[1], list);
}
let freed = 0;
let removed = 0;
for (const list of byName.values()) {
  list.sort((a, b) => b.mtime - a.mtime);
  for (const old of list.slice(KEEP)) {
    rmSync(join(dir, old.file), { force: true });
    freed += old.size;
    removed += 1;
  }
}
console.log(`prune-target: ${removed} superseded binaries removed from ${dir} (${(freed / 1e9).toFixed(1)} GB)`);
