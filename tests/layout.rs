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

/// Every `crate::a::b…` path in `text` outside comments, as its segments.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (i, _) in code.match_indices("crate::") {
            let mut path = Vec::new();
            for seg in code[i + "crate::".len()..].split("::") {
                let name: String = seg
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.is_empty() {
                    break;
                }
                let whole = name.len() == seg.len();
                path.push(name);
                if !whole {
                    break;
                }
            }
            if !path.is_empty() {
                paths.push(path);
            }
        }
    }
    paths
}

#[test]
fn layers_only_use_lower_layers_and_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
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
            let Some(to_rank) = rank(&path[0]) else {
                continue; // a root re-export such as crate::Result
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
