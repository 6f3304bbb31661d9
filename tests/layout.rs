//! The source tree's layering, checked mechanically (README "Architecture"): every `crate::`
//! path in a module of `src/` may only name its own folder or a lower layer, and the modules
//! form no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers from the bottom; a folder may use its own and the layers before it. `wasm` and
/// `tools` are both top layers and do not use each other.
const LAYERS: &[&[&str]] = &[
    &["error", "backend", "image", "random", "vector"],
    &["nn"],
    &["io"],
    &["score"],
    &["face"],
    &["liveness"],
    &["gallery"],
    &["train"],
    &["tools"],
    &["wasm"],
];

fn rank(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/face/pipeline.rs` → `["face", "pipeline"]`; `src/gallery/mod.rs` → `["gallery"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Every `crate::a::b…` path in `text` outside comments, as its segments; grouped imports
/// (`use crate::{a::b, c::{d, e}}`, over several lines too) give one path per leaf.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let mut at = i + "crate::".len();
        use_tree(code.as_bytes(), &mut at, Vec::new(), &mut paths);
    }
    paths
}

/// Reads the use tree at `b[*at..]` (after `crate::` or a group's `{`/`,`) into `out`, each
/// path prefixed by `prefix`. Stops at the first byte that is not part of a path.
fn use_tree(b: &[u8], at: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let skip_space = |at: &mut usize| {
        while *at < b.len() && b[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    let mut path = prefix;
    loop {
        skip_space(at);
        if b.get(*at) == Some(&b'{') {
            *at += 1;
            loop {
                use_tree(b, at, path.clone(), out);
                skip_space(at);
                match b.get(*at) {
                    Some(b',') => {
                        *at += 1;
                        skip_space(at);
                        if b.get(*at) == Some(&b'}') {
                            *at += 1;
                            return;
                        }
                    }
                    Some(b'}') => {
                        *at += 1;
                        return;
                    }
                    _ => return,
                }
            }
        }
        let start = *at;
        while *at < b.len() && (b[*at].is_ascii_alphanumeric() || b[*at] == b'_') {
            *at += 1;
        }
        let name = std::str::from_utf8(&b[start..*at]).unwrap();
        if !name.is_empty() && name != "self" {
            path.push(name.to_string());
        }
        if name.is_empty() || !b[*at..].starts_with(b"::") {
            if !path.is_empty() {
                out.push(path);
            }
            return;
        }
        *at += 2;
    }
}

/// The crate root's re-exports (`pub use a::b::C;`, grouped ones included): name → the path it
/// stands for, so that `crate::C` counts as a use of `a::b`.
fn root_reexports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut names = BTreeMap::new();
    let code: String = lib
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    for (i, _) in code.match_indices("pub use ") {
        let mut at = i + "pub use ".len();
        let mut paths = Vec::new();
        use_tree(code.as_bytes(), &mut at, Vec::new(), &mut paths);
        for path in paths {
            if let Some(last) = path.last() {
                names.insert(last.clone(), path.clone());
            }
        }
    }
    names
}

#[test]
fn the_path_reader_sees_grouped_imports_and_root_reexports() {
    let text = "use crate::{\n    face::detect::{Face, Landmarks}, // a comment\n    score::{self, embedder::Embedder},\n};\nlet x = crate::vector::similarity(a, b);\n";
    let paths: Vec<String> = crate_paths(text).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "face::detect::Face",
            "face::detect::Landmarks",
            "score",
            "score::embedder::Embedder",
            "vector::similarity"
        ]
    );
    let lib = "pub use score::embedder::Embedder;\npub use face::{pipeline::Pipeline, quality};\n";
    let names = root_reexports(lib);
    assert_eq!(names["Embedder"].join("::"), "score::embedder::Embedder");
    assert_eq!(names["Pipeline"].join("::"), "face::pipeline::Pipeline");
    assert_eq!(names["quality"].join("::"), "face::quality");
}

#[test]
fn layers_only_use_lower_layers_and_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    let reexports = root_reexports(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut violations = Vec::new();
    for file in &files {
        let from = module_of(&src, file);
        let Some(top) = from.first().cloned() else {
            continue;
        };
        if top == "lib" || top == "bin" {
            continue;
        }
        let from_rank = rank(&top).unwrap_or_else(|| panic!("{top} is in no layer"));
        let text = std::fs::read_to_string(file).unwrap();
        for path in crate_paths(&text) {
            // A root re-export (crate::Embedder) is a use of the module it comes from.
            let path = match reexports.get(&path[0]) {
                Some(real) if rank(&path[0]).is_none() => {
                    real.iter().chain(&path[1..]).cloned().collect()
                }
                _ => path,
            };
            let Some(to_rank) = rank(&path[0]) else {
                continue; // a macro or a name of the crate root itself
            };
            let same_folder = path[0] == top;
            if to_rank > from_rank || (to_rank == from_rank && !same_folder && from_rank > 0) {
                violations.push(format!(
                    "{} uses crate::{}",
                    from.join("::"),
                    path.join("::")
                ));
            }
            // The longest prefix that is a module is the module depended on.
            let to = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p));
            if let Some(to) = to.filter(|t| *t != from) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );

    // Depth-first search for a cycle among the modules.
    fn visit(
        m: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, bool>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(true) => return None,
            Some(false) => {
                let start = stack.iter().position(|s| s == m).unwrap();
                return Some(stack[start..].iter().map(|s| s.join("::")).collect());
            }
            None => {}
        }
        state.insert(m.clone(), false);
        stack.push(m.clone());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(m.clone(), true);
        None
    }
    let mut state = BTreeMap::new();
    for m in &modules {
        if let Some(cycle) = visit(m, &edges, &mut state, &mut Vec::new()) {
            panic!("module cycle: {}", cycle.join(" → "));
        }
    }
    assert!(
        edges.len() > 20,
        "the scan found too few dependencies: {edges:?}"
    );
}

/// Files stay small: past ~500 lines a file says at its top why it is long.
#[test]
fn long_files_say_why() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let unexplained: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let lines = text.lines().count();
            let top: String = text.lines().take(30).collect::<Vec<_>>().join("\n");
            (lines > 520 && !top.contains("Why this file is long"))
                .then(|| format!("{} ({lines} lines)", file.display()))
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "long files without a reason: {unexplained:?}"
    );
    assert!(files.len() > 50, "the scan found too few files");
}
