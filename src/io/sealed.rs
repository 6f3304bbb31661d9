//! Sealed bytes: template or gallery bytes authenticated under the caller's key.
//!
//! The plain format ends with a SHA-256 of its contents, which proves that bytes were not
//! damaged, not who wrote them: anyone who can write gallery bytes can recompute it and forge a
//! gallery (enroll themselves as someone else). Sealed bytes add an HMAC-SHA256 tag under a key
//! only the app holds, so bytes that travel outside `IndexedDBStore` (which encrypts with its
//! own key) — to a server, a file, another device — cannot be forged or altered by whoever
//! handles them. Sealing authenticates, it does not encrypt: templates stay readable.
//!
//! Layout: magic `WVTS` | format version u16 LE | plain bytes | HMAC-SHA256(key, all before) (32).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"WVTS";
/// The sealed format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;
/// Shortest key accepted: 128 bits.
pub const MIN_KEY_BYTES: usize = 16;
const TAG_BYTES: usize = 32;

fn mac(key: &[u8]) -> Result<Hmac<Sha256>> {
    if key.len() < MIN_KEY_BYTES {
        return Err(Error::InvalidInput(format!(
            "a sealing key of {} bytes is too short; use at least {MIN_KEY_BYTES} random bytes",
            key.len()
        )));
    }
    Hmac::<Sha256>::new_from_slice(key)
        .map_err(|e| Error::InvalidInput(format!("sealing key: {e}")))
}

/// `plain` sealed under `key` (at least [`MIN_KEY_BYTES`]).
pub fn seal(plain: &[u8], key: &[u8]) -> Result<Vec<u8>> {
    let mut mac = mac(key)?;
    let mut out = Vec::with_capacity(6 + plain.len() + TAG_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(plain);
    mac.update(&out);
    out.extend_from_slice(&mac.finalize().into_bytes());
    Ok(out)
}

/// The plain bytes inside `sealed`, once its tag checks under `key` (in constant time).
/// `WRONG_KEY` when it does not (another key, or modified bytes), `CORRUPT_DATA` for bytes that
/// are not sealed at all, `FORMAT_VERSION` for a newer format.
pub fn open<'a>(sealed: &'a [u8], key: &[u8]) -> Result<&'a [u8]> {
    let mac = mac(key)?;
    if sealed.len() < 6 + TAG_BYTES || &sealed[..4] != MAGIC {
        return Err(Error::CorruptData(
            "not sealed template data (bad magic or too short); plain bytes load without a key"
                .into(),
        ));
    }
    let version = u16::from_le_bytes([sealed[4], sealed[5]]);
    if version == 0 || version > FORMAT_VERSION {
        return Err(Error::FormatVersion(format!(
            "sealed format version {version}; this build reads up to {FORMAT_VERSION}"
        )));
    }
    let (content, tag) = sealed.split_at(sealed.len() - TAG_BYTES);
    let mut mac = mac;
    mac.update(content);
    mac.verify_slice(tag).map_err(|_| {
        Error::WrongKey(
            "the sealed bytes do not check under this key: another key, or they were modified"
                .into(),
        )
    })?;
    Ok(&content[6..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn seals_and_opens_and_refuses_any_change() {
        let sealed = seal(b"gallery bytes", KEY).unwrap();
        assert_eq!(open(&sealed, KEY).unwrap(), b"gallery bytes");
        let other = b"fedcba9876543210fedcba9876543210";
        assert_eq!(open(&sealed, other).unwrap_err().code(), "WRONG_KEY");
        for i in 6..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(open(&bad, KEY).unwrap_err().code(), "WRONG_KEY", "byte {i}");
        }
        assert_eq!(open(b"WVTM plain", KEY).unwrap_err().code(), "CORRUPT_DATA");
        let mut newer = sealed.clone();
        newer[4] = 9;
        assert_eq!(open(&newer, KEY).unwrap_err().code(), "FORMAT_VERSION");
        assert_eq!(seal(b"x", b"short").unwrap_err().code(), "INVALID_INPUT");
    }
}
