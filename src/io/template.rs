//! Templates as data: a versioned binary format for one template and for a whole gallery.
//!
//! Every file names the model that made its embeddings (name and weights SHA-256) and their
//! dimension, so that a gallery is never compared with another model's embeddings, and ends
//! with the SHA-256 of everything before it, so that corruption is an error, never garbage.
//!
//! Layout (little-endian):
//! ```text
//! magic "WVTM" | format version u16 | kind u8 (1 template, 2 gallery) | model name: u8 len + UTF-8
//! | model sha256: 64 hex bytes | dim u16 | body | sha256 of all the above: 32 bytes
//! template body: f32 × dim
//! gallery body:  identities u32, then per identity: id (u16 len + UTF-8), metadata JSON (u32 len
//!                + UTF-8), templates u32, f32 × dim × templates
//! ```

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"WVTM";
/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;
const KIND_TEMPLATE: u8 = 1;
const KIND_GALLERY: u8 = 2;
/// Bounds that keep a hostile length field from allocating gigabytes.
const MAX_DIM: usize = 4096;
const MAX_ID_BYTES: usize = 1024;
/// How far from 1 a stored template's length may be (f32 rounding of a normalised vector is
/// about 1e-7 per component).
const UNIT_TOLERANCE: f64 = 1e-3;

/// Which model made a set of embeddings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModelRef {
    /// The model's name (`mobilefacenet`, `mobilefacenet-tuned`).
    pub name: String,
    /// SHA-256 of the weights file, hex.
    pub sha256: String,
    /// Floats per template.
    pub dim: usize,
}

impl ModelRef {
    /// An error unless `other` is the same model.
    pub fn check(&self, other: &ModelRef) -> Result<()> {
        if self == other {
            return Ok(());
        }
        // chars(), not a byte slice: the text may come from damaged bytes (found by the fuzzer).
        let short = |s: &str| s.chars().take(12).collect::<String>();
        Err(Error::ModelMismatch(format!(
            "the templates were made by {} ({}…, {} dims) but the loaded model is {} ({}…, {} \
             dims); re-enroll with this model",
            other.name,
            short(&other.sha256),
            other.dim,
            self.name,
            short(&self.sha256),
            self.dim
        )))
    }
}

/// One identity's entry in a serialised gallery.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredIdentity {
    /// The identity's id.
    pub id: String,
    /// The caller's JSON metadata (empty when none).
    pub metadata: String,
    /// Its unit-length templates.
    pub templates: Vec<Vec<f32>>,
}

struct Writer(Vec<u8>);

impl Writer {
    fn header(model: &ModelRef, kind: u8) -> Self {
        let mut w = Writer(Vec::new());
        w.0.extend_from_slice(MAGIC);
        w.0.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        w.0.push(kind);
        let name = model.name.as_bytes();
        w.0.push(name.len().min(255) as u8);
        w.0.extend_from_slice(&name[..name.len().min(255)]);
        let mut sha = [b'0'; 64];
        let hex = model.sha256.as_bytes();
        sha[..hex.len().min(64)].copy_from_slice(&hex[..hex.len().min(64)]);
        w.0.extend_from_slice(&sha);
        w.0.extend_from_slice(&(model.dim as u16).to_le_bytes());
        w
    }
    fn floats(&mut self, v: &[f32]) {
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }
    fn finish(mut self) -> Vec<u8> {
        let digest = Sha256::digest(&self.0);
        self.0.extend_from_slice(&digest);
        self.0
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::CorruptData(format!("template data: {what}"))
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| corrupt("truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn text(&mut self, len: usize) -> Result<String> {
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| corrupt("text is not UTF-8"))
    }
    fn floats(&mut self, n: usize) -> Result<Vec<f32>> {
        let len = n.checked_mul(4).ok_or_else(|| corrupt("length overflow"))?;
        let v: Vec<f32> = self
            .take(len)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(corrupt("an embedding holds NaN or infinity"));
        }
        Ok(v)
    }
}

/// Checks magic, checksum and version; returns the kind, the model and a reader at the body.
fn open(bytes: &[u8]) -> Result<(u8, ModelRef, Reader<'_>)> {
    if bytes.len() < MAGIC.len() + 2 || &bytes[..4] != MAGIC {
        return Err(corrupt("not a webverify template or gallery (bad magic)"));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version > FORMAT_VERSION || version == 0 {
        return Err(Error::FormatVersion(format!(
            "template format version {version}; this build reads up to {FORMAT_VERSION}: update \
             webverify"
        )));
    }
    if bytes.len() < 32 + 6 {
        return Err(corrupt("truncated"));
    }
    let (content, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(content).as_slice() != digest {
        return Err(corrupt("checksum mismatch (truncated or modified)"));
    }
    let mut r = Reader {
        bytes: content,
        at: 6,
    };
    let kind = r.u8()?;
    let name_len = r.u8()? as usize;
    let name = r.text(name_len)?;
    let sha256 = r.text(64)?;
    if !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(corrupt("the model checksum is not hex"));
    }
    let dim = r.u16()? as usize;
    if dim == 0 || dim > MAX_DIM {
        return Err(corrupt(format!("embedding dimension {dim}")));
    }
    Ok((kind, ModelRef { name, sha256, dim }, r))
}

fn finished(r: &Reader<'_>) -> Result<()> {
    if r.at != r.bytes.len() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(())
}

/// One embedding as bytes.
pub fn encode_template(model: &ModelRef, embedding: &[f32]) -> Result<Vec<u8>> {
    if embedding.len() != model.dim {
        return Err(Error::InvalidInput(format!(
            "a template of {} values for a {}-d model",
            embedding.len(),
            model.dim
        )));
    }
    let mut w = Writer::header(model, KIND_TEMPLATE);
    w.floats(embedding);
    Ok(w.finish())
}

/// The embedding in `bytes`, refused unless it was made by `model`.
pub fn decode_template(bytes: &[u8], model: &ModelRef) -> Result<Vec<f32>> {
    let (kind, made_by, mut r) = open(bytes)?;
    if kind != KIND_TEMPLATE {
        return Err(corrupt("this is a gallery, not a single template"));
    }
    model.check(&made_by)?;
    let v = r.floats(made_by.dim)?;
    finished(&r)?;
    Ok(v)
}

/// A whole gallery as bytes.
pub fn encode_gallery(model: &ModelRef, identities: &[StoredIdentity]) -> Vec<u8> {
    let mut w = Writer::header(model, KIND_GALLERY);
    w.0.extend_from_slice(&(identities.len() as u32).to_le_bytes());
    for identity in identities {
        let id = identity.id.as_bytes();
        w.0.extend_from_slice(&(id.len() as u16).to_le_bytes());
        w.0.extend_from_slice(id);
        let meta = identity.metadata.as_bytes();
        w.0.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        w.0.extend_from_slice(meta);
        w.0.extend_from_slice(&(identity.templates.len() as u32).to_le_bytes());
        for t in &identity.templates {
            w.floats(t);
        }
    }
    w.finish()
}

/// The identities in `bytes`, refused unless they were made by `model`.
pub fn decode_gallery(bytes: &[u8], model: &ModelRef) -> Result<Vec<StoredIdentity>> {
    let (kind, made_by, mut r) = open(bytes)?;
    if kind != KIND_GALLERY {
        return Err(corrupt("this is a single template, not a gallery"));
    }
    model.check(&made_by)?;
    let count = r.u32()? as usize;
    // Each identity takes at least 10 bytes: a count larger than that is a lie.
    if count > r.bytes.len() / 10 {
        return Err(corrupt(format!(
            "{count} identities in {} bytes",
            r.bytes.len()
        )));
    }
    let mut identities = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..count {
        let id_len = r.u16()? as usize;
        if id_len == 0 || id_len > MAX_ID_BYTES {
            return Err(corrupt(format!("identity name of {id_len} bytes")));
        }
        let id = r.text(id_len)?;
        if !seen.insert(id.clone()) {
            return Err(corrupt(format!("identity {id:?} appears twice")));
        }
        let meta_len = r.u32()? as usize;
        let metadata = r.text(meta_len)?;
        if !metadata.is_empty() && serde_json::from_str::<serde_json::Value>(&metadata).is_err() {
            return Err(corrupt(format!("the metadata of {id:?} is not JSON")));
        }
        let templates = r.u32()? as usize;
        if templates == 0 {
            return Err(corrupt(format!("identity {id:?} has no templates")));
        }
        let mut list = Vec::new();
        for _ in 0..templates {
            let t = r.floats(made_by.dim)?;
            // The checksum proves the bytes were not damaged, not that they make sense: a
            // template of length 1e18 would "match" every probe in a dot-product search.
            let norm = t.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            if (norm - 1.0).abs() > UNIT_TOLERANCE {
                return Err(corrupt(format!(
                    "a template of {id:?} has length {norm:e}; templates are unit vectors"
                )));
            }
            list.push(t);
        }
        identities.push(StoredIdentity {
            id,
            metadata,
            templates: list,
        });
    }
    finished(&r)?;
    Ok(identities)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ModelRef {
        ModelRef {
            name: "mobilefacenet".into(),
            sha256: "ab".repeat(32),
            dim: 3,
        }
    }

    fn gallery() -> Vec<StoredIdentity> {
        vec![
            StoredIdentity {
                id: "ada".into(),
                metadata: r#"{"team":"a"}"#.into(),
                templates: vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.6, 0.8]],
            },
            StoredIdentity {
                id: "bo".into(),
                metadata: String::new(),
                templates: vec![vec![0.0, 0.0, -1.0]],
            },
        ]
    }

    #[test]
    fn round_trips() {
        let m = model();
        let t = encode_template(&m, &[0.5, -0.25, 2.0]).unwrap();
        assert_eq!(decode_template(&t, &m).unwrap(), vec![0.5, -0.25, 2.0]);
        let g = encode_gallery(&m, &gallery());
        assert_eq!(decode_gallery(&g, &m).unwrap(), gallery());
        assert!(decode_gallery(&t, &m).is_err() && decode_template(&g, &m).is_err());
    }

    #[test]
    fn another_model_or_a_newer_format_is_refused() {
        let g = encode_gallery(&model(), &gallery());
        let other = ModelRef {
            sha256: "cd".repeat(32),
            ..model()
        };
        assert_eq!(
            decode_gallery(&g, &other).unwrap_err().code(),
            "MODEL_MISMATCH"
        );
        let mut newer = g.clone();
        newer[4] = 2;
        assert_eq!(
            decode_gallery(&newer, &model()).unwrap_err().code(),
            "FORMAT_VERSION"
        );
    }

    /// Forged galleries whose checksum is right (recomputed by the forger) but whose contents
    /// make no sense are refused.
    #[test]
    fn galleries_are_checked_for_meaning() {
        let forge = |change: &dyn Fn(&mut Vec<StoredIdentity>)| {
            let mut g = gallery();
            change(&mut g);
            decode_gallery(&encode_gallery(&model(), &g), &model())
                .unwrap_err()
                .code()
        };
        let forgeries: [(&str, &dyn Fn(&mut Vec<StoredIdentity>)); 7] = [
            ("length 1e18", &|g| g[0].templates[0] = vec![1e18, 0.0, 0.0]),
            ("length 1.4e38", &|g| {
                g[0].templates[0] = vec![1e38, 1e38, 0.0]
            }),
            ("zero", &|g| g[1].templates[0] = vec![0.0, 0.0, 0.0]),
            ("length 0.87", &|g| g[1].templates[0] = vec![0.5, 0.5, 0.5]),
            ("duplicate id", &|g| g[1].id = "ada".into()),
            ("no templates", &|g| g[1].templates.clear()),
            ("metadata not JSON", &|g| g[0].metadata = "{not json".into()),
        ];
        for (what, change) in forgeries {
            assert_eq!(forge(change), "CORRUPT_DATA", "{what}");
        }
    }

    #[test]
    fn every_truncation_and_every_flipped_bit_is_an_error() {
        let g = encode_gallery(&model(), &gallery());
        for n in 0..g.len() {
            let e = decode_gallery(&g[..n], &model()).unwrap_err();
            assert_eq!(e.code(), "CORRUPT_DATA", "truncated to {n}: {e}");
        }
        for i in 0..g.len() {
            for bit in 0..8 {
                let mut bad = g.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    decode_gallery(&bad, &model()).is_err(),
                    "byte {i} bit {bit}"
                );
            }
        }
    }
}
