//! Passphrase-sealed secret files: authority shares and messenger client states at rest.
//!
//! ```text
//! key        = Argon2id(passphrase, salt; m KiB, t passes, p lanes, 32-byte tag)   RFC 9106,
//!              version 0x13, no secret, no associated data (the `argon2` crate)
//! aad        = "escrow-lab/v1/sealed" ‖ u32(len) ‖ content ‖ u32_be(m) ‖ u32_be(t) ‖ u32_be(p)
//!              ‖ salt (16) ‖ nonce (12)
//! ciphertext = AES-256-GCM(key, nonce, plaintext, aad)                              NIST SP 800-38D
//! ```
//!
//! The file is JSON (`version` 1, `kind` `escrow-lab/sealed`, `content` — what the plaintext
//! is — and the KDF's parameters, salt, nonce and ciphertext in hex). The parameters are
//! recorded in the file and bound by the AAD, so every reader uses the writer's; readers refuse
//! parameters beyond [`MAX_M_KIB`] / [`MAX_T`] / [`MAX_P`] (a crafted file must not make a
//! reader allocate gigabytes) and below [`MIN_M_KIB`]. The default is RFC 9106's second
//! recommended option with one lane: 64 MiB, 3 passes. A wrong passphrase and a tampered file
//! fail the same way (the GCM tag), with [`Error::WrongPassphrase`].
//!
//! A [`SealKey`] (the derived key with its salt and parameters) is kept by callers that save
//! the same file many times (a client state after every message): each save draws a fresh
//! random nonce under the same key, so the Argon2id cost is paid once per process.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::encoding::{FORMAT_VERSION, from_json, to_json};
use crate::error::{Error, Result};

/// The `kind` of a sealed file.
pub const KIND: &str = "escrow-lab/sealed";
/// Largest memory cost a reader accepts (256 MiB: four times what writers use, so that a
/// crafted file cannot make a reader allocate gigabytes).
pub const MAX_M_KIB: u32 = 1 << 18;
/// Smallest memory cost a reader accepts (8 MiB).
pub const MIN_M_KIB: u32 = 8 * 1024;
/// Most passes a reader accepts.
pub const MAX_T: u32 = 8;
/// Most lanes a reader accepts.
pub const MAX_P: u32 = 8;
/// Largest plaintext sealed (client states are the largest secrets).
pub const MAX_PLAINTEXT: usize = 96 << 20;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// RFC 9106 §4, second recommended option, with one lane: 64 MiB, 3 passes.
    pub const DEFAULT: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    fn check(&self) -> Result<()> {
        if !(MIN_M_KIB..=MAX_M_KIB).contains(&self.m_kib)
            || !(1..=MAX_T).contains(&self.t)
            || !(1..=MAX_P).contains(&self.p)
            || self.m_kib < 8 * self.p
        {
            return Err(Error::Sealed(SealedError::KdfRange(*self)));
        }
        Ok(())
    }
}

/// Why a sealed file is refused or cannot be made (the passphrase aside:
/// [`Error::WrongPassphrase`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealedError {
    /// The Argon2id parameters are outside what this reader accepts.
    #[error(
        "Argon2id parameters m={} KiB, t={}, p={} are outside the accepted range ({MIN_M_KIB}..{MAX_M_KIB} KiB, 1..{MAX_T} passes, 1..{MAX_P} lanes)",
        .0.m_kib, .0.t, .0.p
    )]
    KdfRange(KdfParams),
    /// Argon2id refused its input.
    #[error("Argon2id: {0}")]
    Argon2(argon2::Error),
    /// The passphrase is empty.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The secret is larger than a sealed file holds.
    #[error("the secret is too large to seal")]
    TooLarge,
    /// A hex field has upper-case digits.
    #[error("{0} is not lowercase hex")]
    NotLowercaseHex(&'static str),
    /// A hex field is not hex.
    #[error("{0} is not hex")]
    NotHex(&'static str),
    /// A field has the wrong length.
    #[error("{what} must be {expected} bytes")]
    Length {
        /// The field.
        what: &'static str,
        /// Its length, in bytes.
        expected: usize,
    },
    /// The file seals another kind of secret.
    #[error("the file seals a {found}, not a {expected}")]
    OtherContent {
        /// What the file says it seals.
        found: String,
        /// What the reader expected.
        expected: String,
    },
    /// The file names algorithms this reader does not use.
    #[error(
        "unsupported algorithms {kdf} v{version} / {aead} (argon2id v19 / aes-256-gcm expected)"
    )]
    Algorithms {
        /// The KDF named.
        kdf: String,
        /// Its version.
        version: u32,
        /// The AEAD named.
        aead: String,
    },
    /// The ciphertext is shorter than a tag or longer than any sealed secret.
    #[error("ciphertext length out of range")]
    CiphertextLength,
    /// The file was sealed under another key since this key opened it.
    #[error("the file was sealed under another key since it was opened")]
    OtherKey,
    /// The passphrase could not be read from the terminal.
    #[error("reading the passphrase: {0}")]
    Prompt(std::io::Error),
}

/// A passphrase. Zeroized on drop; `Debug` prints `***`.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase; refuses an empty one.
    pub fn new(s: String) -> Result<Self> {
        let s = Zeroizing::new(s);
        if s.is_empty() {
            return Err(Error::Sealed(SealedError::EmptyPassphrase));
        }
        Ok(Self(s))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

/// The passphrase held by the environment variable `var` (the `--passphrase-env VAR`
/// option of the binaries).
pub fn passphrase_from_env(var: &str) -> Result<Passphrase> {
    match std::env::var(var) {
        Ok(v) => Passphrase::new(v),
        Err(std::env::VarError::NotPresent) => Err(Error::PassphraseVariable {
            var: var.to_owned(),
            unset: true,
        }),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::PassphraseVariable {
            var: var.to_owned(),
            unset: false,
        }),
    }
}

/// Argon2id of `passphrase` and `salt` with `params`: the 32-byte file key.
pub fn derive_key(
    passphrase: &Passphrase,
    salt: &[u8],
    params: &KdfParams,
) -> Result<Zeroizing<[u8; 32]>> {
    params.check()?;
    let p = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| Error::Sealed(SealedError::Argon2(e)))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.0.as_bytes(), salt, key.as_mut())
        .map_err(|e| Error::Sealed(SealedError::Argon2(e)))?;
    Ok(key)
}

/// A derived file key with its salt and parameters. Zeroized on drop; `Debug` prints `***`.
pub struct SealKey {
    key: Zeroizing<[u8; 32]>,
    salt: [u8; 16],
    params: KdfParams,
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealKey({:?}, ***)", self.params)
    }
}

impl SealKey {
    /// A new key from `passphrase` with a fresh random salt.
    pub fn new<R: RngCore + CryptoRng>(
        passphrase: &Passphrase,
        params: KdfParams,
        rng: &mut R,
    ) -> Result<Self> {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        Ok(Self {
            key: derive_key(passphrase, &salt, &params)?,
            salt,
            params,
        })
    }

    /// Seals `plaintext` (what it is: `content`) with a fresh nonce from the operating
    /// system's generator (never a caller's: a seeded generator would repeat nonces under one
    /// key across processes).
    pub fn seal(&self, content: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(Error::Sealed(SealedError::TooLarge));
        }
        let mut nonce = [0u8; 12];
        rand_core::OsRng.fill_bytes(&mut nonce);
        let aad = aad(content, &self.params, &self.salt, &nonce);
        let ciphertext = Aes256Gcm::new(self.key.as_ref().into())
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Internal(crate::Bug::AesGcm))?;
        to_json(&SealedFile {
            version: FORMAT_VERSION,
            kind: KIND.to_owned(),
            content: content.to_owned(),
            kdf: KdfFile {
                algorithm: "argon2id".into(),
                version: 0x13,
                m_kib: self.params.m_kib,
                t: self.params.t,
                p: self.params.p,
                salt: hex::encode(self.salt),
            },
            aead: "aes-256-gcm".into(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfFile {
    algorithm: String,
    version: u32,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedFile {
    version: u64,
    kind: String,
    content: String,
    kdf: KdfFile,
    aead: String,
    nonce: String,
    ciphertext: String,
}

fn aad(content: &str, params: &KdfParams, salt: &[u8; 16], nonce: &[u8; 12]) -> Vec<u8> {
    let mut a = Vec::with_capacity(64 + content.len());
    a.extend_from_slice(b"escrow-lab/v1/sealed");
    a.extend_from_slice(&(content.len() as u32).to_be_bytes());
    a.extend_from_slice(content.as_bytes());
    for v in [params.m_kib, params.t, params.p] {
        a.extend_from_slice(&v.to_be_bytes());
    }
    a.extend_from_slice(salt);
    a.extend_from_slice(nonce);
    a
}

/// Whether `bytes` is a sealed file (a JSON object whose `kind` is [`KIND`]); anything else
/// is read as a plain file by its own parser.
pub fn is_sealed(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Kind {
        kind: Option<String>,
    }
    serde_json::from_slice::<Kind>(bytes).is_ok_and(|k| k.kind.as_deref() == Some(KIND))
}

/// Seals `plaintext` under a fresh key ([`SealKey::new`] then [`SealKey::seal`]).
pub fn seal<R: RngCore + CryptoRng>(
    passphrase: &Passphrase,
    content: &str,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    SealKey::new(passphrase, KdfParams::DEFAULT, rng)?.seal(content, plaintext)
}

/// Lowercase hex only: one encoding per value, so no bit of the file can change without
/// changing what it says.
fn strict_hex(what: &'static str, s: &str) -> Result<Vec<u8>> {
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Error::Sealed(SealedError::NotLowercaseHex(what)));
    }
    hex::decode(s).map_err(|_| Error::Sealed(SealedError::NotHex(what)))
}

fn fixed<const N: usize>(what: &'static str, s: &str) -> Result<[u8; N]> {
    let v = strict_hex(what, s)?;
    v.try_into()
        .map_err(|_| Error::Sealed(SealedError::Length { what, expected: N }))
}

/// A sealed file's header and ciphertext, every check but the passphrase's done.
struct Parsed {
    params: KdfParams,
    salt: [u8; 16],
    nonce: [u8; 12],
    ciphertext: Vec<u8>,
}

/// Checks a sealed file holding `content` without deriving its key (the parser that
/// [`open`] runs first; fuzzed on its own, since Argon2id would dominate every run). Returns
/// the KDF parameters it names.
pub fn check_format(content: &str, bytes: &[u8]) -> Result<KdfParams> {
    parse(content, bytes).map(|p| p.params)
}

fn parse(content: &str, bytes: &[u8]) -> Result<Parsed> {
    let f: SealedFile = from_json("sealed file", bytes)?;
    if f.kind != KIND {
        return Err(Error::WrongKind {
            what: "sealed file",
            found: f.kind.clone(),
        });
    }
    if f.content != content {
        return Err(Error::Sealed(SealedError::OtherContent {
            found: f.content.clone(),
            expected: content.to_owned(),
        }));
    }
    if f.kdf.algorithm != "argon2id" || f.kdf.version != 0x13 || f.aead != "aes-256-gcm" {
        return Err(Error::Sealed(SealedError::Algorithms {
            kdf: f.kdf.algorithm.clone(),
            version: f.kdf.version,
            aead: f.aead.clone(),
        }));
    }
    let params = KdfParams {
        m_kib: f.kdf.m_kib,
        t: f.kdf.t,
        p: f.kdf.p,
    };
    params.check()?;
    let salt: [u8; 16] = fixed("salt", &f.kdf.salt)?;
    let nonce: [u8; 12] = fixed("nonce", &f.nonce)?;
    let ciphertext = strict_hex("ciphertext", &f.ciphertext)?;
    if ciphertext.len() < 16 || ciphertext.len() > MAX_PLAINTEXT + 16 {
        return Err(Error::Sealed(SealedError::CiphertextLength));
    }
    Ok(Parsed {
        params,
        salt,
        nonce,
        ciphertext,
    })
}

/// Opens a sealed file holding `content`; returns the plaintext and the key (to seal the next
/// version of the same file without deriving again).
pub fn open(
    passphrase: &Passphrase,
    content: &str,
    bytes: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, SealKey)> {
    let Parsed {
        params,
        salt,
        nonce,
        ciphertext,
    } = parse(content, bytes)?;
    let key = SealKey {
        key: derive_key(passphrase, &salt, &params)?,
        salt,
        params,
    };
    let plaintext = key.decrypt(content, &nonce, &ciphertext)?;
    Ok((plaintext, key))
}

impl SealKey {
    /// Opens a file this key sealed (same salt and parameters: the next version of a state
    /// file) without deriving again; any other file is refused.
    pub fn open(&self, content: &str, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let p = parse(content, bytes)?;
        if p.salt != self.salt || p.params != self.params {
            return Err(Error::Sealed(SealedError::OtherKey));
        }
        self.decrypt(content, &p.nonce, &p.ciphertext)
    }

    fn decrypt(
        &self,
        content: &str,
        nonce: &[u8; 12],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let aad = aad(content, &self.params, &self.salt, nonce);
        Aes256Gcm::new(self.key.as_ref().into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::WrongPassphrase)
    }
}
