//! Pair lists for evaluation.
//!
//! LFW format: a header `N` (one set: N same-person pairs, then N different) or `folds<TAB>N`
//! (that many folds of N same then N different); then `name<TAB>i<TAB>j` or
//! `name1<TAB>i<TAB>name2<TAB>j`. Image `i` of `name` is `<images>/<name>/<name>_<iiii>.jpg`
//! (LFW) or `<images>/<name>/<i>.pgm` (ORL). A single set is cut into 10 folds of consecutive
//! pairs, as View 2 is laid out.
//!
//! General format: `#` comments, then `fold<TAB>path_a<TAB>path_b<TAB>same` with paths
//! relative to the list's folder.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Folds a single-set list is cut into.
pub const DEFAULT_FOLDS: usize = 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub a: PathBuf,
    pub b: PathBuf,
    pub same: bool,
    pub fold: usize,
}

fn bad(line: usize, msg: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("pair list line {line}: {msg}"))
}

/// The file of image `index` of `name` under `images`: LFW's naming if that file exists, else ORL's.
fn image_path(images: &Path, name: &str, index: usize) -> PathBuf {
    let lfw = images.join(name).join(format!("{name}_{index:04}.jpg"));
    if lfw.exists() {
        lfw
    } else {
        images.join(name).join(format!("{index}.pgm"))
    }
}

/// Parses a pair list. `images` is the image root for the LFW format (ignored by the general
/// format, whose paths are relative to the list).
pub fn parse(text: &str, list_dir: &Path, images: &Path) -> Result<Vec<Pair>> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .peekable();
    let (first_no, first) = *lines
        .peek()
        .ok_or_else(|| Error::InvalidInput("empty pair list".into()))?;
    let header: Vec<&str> = first.split('\t').collect();
    let numbers: Option<Vec<usize>> = header.iter().map(|f| f.trim().parse().ok()).collect();
    match numbers.as_deref() {
        Some([n]) => {
            lines.next();
            lfw(lines, images, 1, *n, first_no)
        }
        Some([folds, n]) => {
            lines.next();
            lfw(lines, images, *folds, *n, first_no)
        }
        _ => general(lines, list_dir),
    }
}

fn lfw<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    images: &Path,
    sets: usize,
    n: usize,
    header_line: usize,
) -> Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for (k, (no, line)) in lines.enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let index = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(no, format!("{s:?} is not an image number")))
        };
        let (a, b, same) = match f[..] {
            [name, i, j] => (
                image_path(images, name, index(i)?),
                image_path(images, name, index(j)?),
                true,
            ),
            [n1, i, n2, j] => (
                image_path(images, n1, index(i)?),
                image_path(images, n2, index(j)?),
                false,
            ),
            _ => return Err(bad(no, "expected 3 or 4 tab-separated fields")),
        };
        // Within a set: n same pairs then n different ones.
        let (set, within) = (k / (2 * n.max(1)), k % (2 * n.max(1)));
        if within < n && !same || within >= n && same {
            return Err(bad(
                no,
                format!(
                    "expected {} pair here (header says {n} of each per set)",
                    if within < n {
                        "a same-person"
                    } else {
                        "a different-person"
                    }
                ),
            ));
        }
        let fold = if sets > 1 {
            set
        } else {
            (within % n.max(1)) * DEFAULT_FOLDS / n.max(1)
        };
        pairs.push(Pair { a, b, same, fold });
    }
    if pairs.len() != sets * 2 * n {
        return Err(bad(
            header_line,
            format!(
                "header promises {} pairs, the list has {}",
                sets * 2 * n,
                pairs.len()
            ),
        ));
    }
    Ok(pairs)
}

fn general<'a>(lines: impl Iterator<Item = (usize, &'a str)>, dir: &Path) -> Result<Vec<Pair>> {
    lines
        .map(|(no, line)| {
            let f: Vec<&str> = line.split('\t').collect();
            let [fold, a, b, same] = f[..] else {
                return Err(bad(no, "expected fold, path_a, path_b, same"));
            };
            Ok(Pair {
                a: dir.join(a),
                b: dir.join(b),
                same: match same.trim() {
                    "1" => true,
                    "0" => false,
                    s => return Err(bad(no, format!("same must be 1 or 0, not {s:?}"))),
                },
                fold: fold
                    .trim()
                    .parse()
                    .map_err(|_| bad(no, format!("fold {fold:?} is not a number")))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_set_lfw_list_gets_ten_folds() {
        let mut text = String::from("20\n");
        for i in 0..20 {
            text += &format!("Anna\t{}\t{}\n", i + 1, i + 2);
        }
        for i in 0..20 {
            text += &format!("Anna\t{}\tBob\t{}\n", i + 1, i + 1);
        }
        let pairs = parse(&text, Path::new("."), Path::new("/img")).unwrap();
        assert_eq!(pairs.len(), 40);
        assert_eq!(pairs[0].a, Path::new("/img/Anna/1.pgm"));
        assert!(pairs[..20].iter().all(|p| p.same) && pairs[20..].iter().all(|p| !p.same));
        for fold in 0..10 {
            assert_eq!(pairs.iter().filter(|p| p.fold == fold && p.same).count(), 2);
            assert_eq!(
                pairs.iter().filter(|p| p.fold == fold && !p.same).count(),
                2
            );
        }
    }

    #[test]
    fn folds_header_and_general_format() {
        let text = "2\t1\nA\t1\t2\nA\t1\tB\t1\nC\t1\t2\nC\t1\tD\t2\n";
        let pairs = parse(text, Path::new("."), Path::new("x")).unwrap();
        assert_eq!(
            pairs.iter().map(|p| p.fold).collect::<Vec<_>>(),
            vec![0, 0, 1, 1]
        );
        let general = "# comment\n1\ta/1.png\tb/2.png\t0\n2\ta/1.png\ta/3.png\t1\n";
        let pairs = parse(general, Path::new("/data"), Path::new("x")).unwrap();
        assert_eq!(
            pairs[1],
            Pair {
                a: "/data/a/1.png".into(),
                b: "/data/a/3.png".into(),
                same: true,
                fold: 2
            }
        );
    }

    #[test]
    fn malformed_lists_are_errors() {
        for text in [
            "",
            "2\nA\t1\t2\n",
            "1\nA\tx\t2\nA\t1\tB\t1\n",
            "1\nA\t1\tB\t1\nA\t1\t2\n",
            "1\ta\tb\t7\n",
        ] {
            assert!(
                parse(text, Path::new("."), Path::new(".")).is_err(),
                "{text:?}"
            );
        }
    }
}
