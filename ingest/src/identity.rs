//! Identities: validation of resident ID numbers (GB 11643) and unified social credit codes
//! (GB 32100), keyed hashing, and masking for the quarantine.
//!
//! A raw identity never reaches disk: accepted records store `HMAC-SHA256(secret, id)` (first 32
//! hex characters); rejected records store the number masked to its first 6 and last 4 characters.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// GB 11643 weights of the first 17 digits of a resident ID number.
const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// GB 11643 check characters, indexed by the weighted sum mod 11.
const RESIDENT_CHECK: &[u8; 11] = b"10X98765432";
/// GB 32100 character set (no I, O, S, V, Z).
pub const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// The check character of the first 17 digits of a resident ID number.
pub fn resident_check_char(first17: &str) -> Option<char> {
    let digits: Vec<u32> = first17.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    if digits.len() != 17 {
        return None;
    }
    let sum: u32 = digits.iter().zip(RESIDENT_WEIGHTS).map(|(d, w)| d * w).sum();
    Some(RESIDENT_CHECK[(sum % 11) as usize] as char)
}

/// The check character of the first 17 characters of a unified social credit code.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    let values: Vec<u32> = first17
        .bytes()
        .map(|b| USCC_CHARSET.iter().position(|&c| c == b).map(|p| p as u32))
        .collect::<Option<_>>()?;
    if values.len() != 17 {
        return None;
    }
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    Some(USCC_CHARSET[check as usize] as char)
}

/// The canonical form of an identity if it is a valid 18-character resident ID number or unified
/// social credit code (upper case), or `None`.
pub fn canonical_identity(raw: &str) -> Option<String> {
    let id = raw.trim().to_ascii_uppercase();
    if id.len() != 18 || !id.is_ascii() {
        return None;
    }
    let (body, check) = id.split_at(17);
    let check = check.chars().next()?;
    let valid = resident_check_char(body) == Some(check) || uscc_check_char(body) == Some(check);
    valid.then_some(id)
}

/// Keyed hashing of identities and account numbers.
#[derive(Clone)]
pub struct IdentityHasher {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for IdentityHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityHasher(<secret>)")
    }
}

/// The fixed key the demo uses (and says so); real deployments configure their own secret.
pub const DEMO_SECRET: &str = "puhui-demo-key-not-for-production";

impl IdentityHasher {
    pub fn new(secret: &[u8]) -> Self {
        IdentityHasher { mac: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length") }
    }

    /// Lowercase hex of HMAC-SHA256(secret, canonical), first 32 characters.
    pub fn key(&self, canonical: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(canonical.as_bytes());
        let digest = mac.finalize().into_bytes();
        hex::encode(&digest[..16])
    }
}

/// An identity masked for the quarantine: first 6 and last 4 characters kept.
pub fn mask(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let hidden = chars.len() - 10;
    chars[..6].iter().chain(std::iter::repeat_n(&'*', hidden)).chain(&chars[chars.len() - 4..]).collect()
}

/// Masks every run of 15 or more ASCII letters and digits in free text (used on raw lines that
/// could not be parsed, so that no identity or account number reaches the quarantine in clear).
pub fn mask_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 15 {
            out.push_str(&mask(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_check_digit() {
        // GB 11643 example number.
        assert_eq!(resident_check_char("11010519491231002"), Some('X'));
        assert!(canonical_identity("11010519491231002X").is_some());
        assert!(canonical_identity("11010519491231002x").is_some());
        assert!(canonical_identity("110105194912310021").is_none());
        assert!(canonical_identity("1101051949123100").is_none());
    }

    #[test]
    fn uscc_check_character() {
        // A published unified social credit code.
        assert_eq!(uscc_check_char("91350100M000100Y4"), Some('3'));
        assert!(canonical_identity("91350100M000100Y43").is_some());
        assert!(canonical_identity("91350100M000100Y44").is_none());
    }

    #[test]
    fn hashing_is_keyed_and_stable() {
        let a = IdentityHasher::new(b"one");
        let b = IdentityHasher::new(b"two");
        let k = a.key("11010519491231002X");
        assert_eq!(k.len(), 32);
        assert_eq!(k, a.key("11010519491231002X"));
        assert_ne!(k, b.key("11010519491231002X"));
    }

    #[test]
    fn masking_keeps_six_and_four() {
        assert_eq!(mask("11010519491231002X"), "110105********002X");
        assert_eq!(mask_runs(r#"{"id":"11010519491231002X","n":12}"#), r#"{"id":"110105********002X","n":12}"#);
    }
}
