//! Persistence of a [`Keyring`] as a JSON key file.
//!
//! Format (version 1):
//! ```json
//! {"version":1,"active":"mk-…","keys":[{"id":"mk-…","key":"<base64 of 32 bytes>","created_at_unix":1700000000}]}
//! ```
//! `key` is standard base64 (RFC 4648 §4, with padding) of the 32 raw key
//! bytes. On Unix the file must not be accessible by group or others.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::envelope::SecretKeyBytes;
use crate::error::CryptoError;
use crate::keyring::{KeyId, Keyring, MasterKey};

/// Current key file format version.
const VERSION: u32 = 1;
/// Key files larger than this (bytes) are refused: a real one is a few KiB.
const MAX_FILE_LEN: u64 = 1 << 20;

#[derive(Serialize, Deserialize)]
struct FileJson {
    version: u32,
    active: String,
    keys: Vec<EntryJson>,
}

#[derive(Serialize, Deserialize)]
struct EntryJson {
    id: String,
    key: String,
    created_at_unix: u64,
}

impl Drop for EntryJson {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl Keyring {
    /// Reads a keyring from the JSON key file at `path` (format in the
    /// [module docs](crate::keyring): `version` 1, `active` id, `keys` with
    /// `id`, base64 `key` of 32 bytes and `created_at_unix` seconds).
    ///
    /// # Errors
    /// - [`CryptoError::Io`] if the file cannot be opened or read (the message
    ///   names the path; `ErrorKind::NotFound` if it does not exist);
    /// - [`CryptoError::KeyFile`] if, on Unix, the file is accessible by group
    ///   or others (`mode & 0o077 != 0`; the message names the path and the
    ///   fix, `chmod 600`), if it is not a regular file, larger than 1 MiB,
    ///   not valid JSON of the format, has an unsupported `version`, no keys,
    ///   duplicate or empty ids, a key that is not base64 of exactly 32 bytes,
    ///   or an `active` id that is not among the keys. Messages never contain
    ///   key material.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let meta = file.metadata().map_err(|e| io_err(path, e))?;
        if !meta.is_file() {
            return Err(key_file_err(path, "not a regular file"));
        }
        check_permissions(path, &meta)?;
        if meta.len() > MAX_FILE_LEN {
            return Err(key_file_err(path, "file is larger than 1 MiB"));
        }
        // Pre-size the buffer so it is never reallocated (which would leave
        // un-zeroized copies of the key text behind).
        let cap = usize::try_from(meta.len()).unwrap_or(0) + 1;
        let mut text = Zeroizing::new(String::with_capacity(cap));
        file.take(MAX_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(|e| io_err(path, e))?;
        parse(path, &text)
    }

    /// Writes the keyring to `path` atomically, in the format read by
    /// [`Keyring::load`].
    ///
    /// Creates missing parent directories (mode 0700 on Unix), writes a
    /// temporary file in the same directory (mode 0600 on Unix), fsyncs it,
    /// renames it over `path`, then fsyncs the directory (best effort). A
    /// reader sees either the old or the new file, never a partial one.
    ///
    /// # Errors
    /// [`CryptoError::Io`] on any file-system error (the message names the
    /// path); [`CryptoError::KeyFile`] if `path` has no file name.
    pub fn save(&self, path: &Path) -> Result<(), CryptoError> {
        write_atomic(path, &self.to_json(), false)
    }

    /// Loads the keyring at `path`, or, if the file does not exist, generates
    /// a new one (one active key), saves it there and returns it.
    ///
    /// Output: `(keyring, created)` where `created` is `true` if a new file
    /// was written. If another process creates the file at the same moment,
    /// its file wins and is loaded (existing files are never overwritten).
    ///
    /// # Errors
    /// As [`Keyring::load`] and [`Keyring::save`].
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), CryptoError> {
        match Self::load(path) {
            Ok(ring) => Ok((ring, false)),
            Err(CryptoError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
                let ring = Self::generate();
                match write_atomic(path, &ring.to_json(), true) {
                    Ok(()) => Ok((ring, true)),
                    Err(CryptoError::Io(e)) if e.kind() == io::ErrorKind::AlreadyExists => {
                        Ok((Self::load(path)?, false))
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Serializes to pretty JSON plus a trailing newline, in a zeroizing buffer.
    fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let file = FileJson {
            version: VERSION,
            active: self.active.0.clone(),
            keys: self
                .keys
                .iter()
                .map(|k| EntryJson {
                    id: k.id.0.clone(),
                    key: STANDARD.encode(k.key.as_bytes()),
                    created_at_unix: k.created_at_unix,
                })
                .collect(),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(256 + 160 * self.keys.len()));
        serde_json::to_writer_pretty(&mut *out, &file)
            .expect("serializing strings and integers to a Vec cannot fail");
        out.push(b'\n');
        out
    }
}

fn parse(path: &Path, text: &str) -> Result<Keyring, CryptoError> {
    // serde_json data errors can quote offending values, which could be key
    // text: report only the position and the expected shape.
    let file: FileJson = serde_json::from_str(text).map_err(|e| {
        key_file_err(
            path,
            &format!(
                "not valid key file JSON at line {} column {} (expected {{\"version\":1,\"active\":\"mk-…\",\"keys\":[{{\"id\",\"key\",\"created_at_unix\"}}]}})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if file.version != VERSION {
        return Err(key_file_err(
            path,
            &format!("unsupported version {} (expected {VERSION})", file.version),
        ));
    }
    if file.keys.is_empty() {
        return Err(key_file_err(path, "no keys"));
    }
    let mut keys: Vec<MasterKey> = Vec::with_capacity(file.keys.len());
    for entry in &file.keys {
        if entry.id.is_empty() {
            return Err(key_file_err(path, "a key has an empty id"));
        }
        if keys.iter().any(|k| k.id.0 == entry.id) {
            return Err(key_file_err(
                path,
                &format!("duplicate key id {}", entry.id),
            ));
        }
        let raw = Zeroizing::new(STANDARD.decode(entry.key.as_bytes()).map_err(|_| {
            key_file_err(
                path,
                &format!("key {}: \"key\" is not valid base64", entry.id),
            )
        })?);
        let key = SecretKeyBytes::from_slice(&raw).ok_or_else(|| {
            key_file_err(
                path,
                &format!("key {}: must be 32 bytes, found {}", entry.id, raw.len()),
            )
        })?;
        keys.push(MasterKey {
            id: KeyId(entry.id.clone()),
            key,
            created_at_unix: entry.created_at_unix,
        });
    }
    let active = KeyId(file.active.clone());
    if !keys.iter().any(|k| k.id == active) {
        return Err(key_file_err(
            path,
            &format!("active key {active} is not among the keys"),
        ));
    }
    Ok(Keyring { keys, active })
}

#[cfg(unix)]
fn check_permissions(path: &Path, meta: &fs::Metadata) -> Result<(), CryptoError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(key_file_err(
            path,
            &format!(
                "permissions {mode:04o} let group or others access it; run `chmod 600 {}`",
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _meta: &fs::Metadata) -> Result<(), CryptoError> {
    Ok(())
}

/// Writes `bytes` to a 0600 temp file beside `path`, fsyncs, then moves it
/// into place: by rename (replacing) or, with `no_clobber`, by hard link
/// (failing with `AlreadyExists` if `path` exists).
fn write_atomic(path: &Path, bytes: &[u8], no_clobber: bool) -> Result<(), CryptoError> {
    let name = path
        .file_name()
        .ok_or_else(|| key_file_err(path, "path has no file name"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dir_private(&dir).map_err(|e| io_err(&dir, e))?;

    let mut suffix = [0u8; 8];
    OsRng.fill_bytes(&mut suffix);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", hex::encode(suffix)));
    let tmp = dir.join(tmp_name);

    let result = write_tmp(&tmp, bytes).and_then(|()| {
        if no_clobber {
            link_no_clobber(&tmp, path)
        } else {
            fs::rename(&tmp, path).map_err(|e| io_err(path, e))
        }
    });
    // After a rename the temp path is gone; after a link or a failure it is
    // removed here.
    let _ = fs::remove_file(&tmp);
    result?;
    // Make the rename durable; some file systems refuse fsync on directories.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_tmp(tmp: &Path, bytes: &[u8]) -> Result<(), CryptoError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(tmp).map_err(|e| io_err(tmp, e))?;
    f.write_all(bytes).map_err(|e| io_err(tmp, e))?;
    f.sync_all().map_err(|e| io_err(tmp, e))?;
    Ok(())
}

fn link_no_clobber(tmp: &Path, path: &Path) -> Result<(), CryptoError> {
    match fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(io_err(path, e)),
        // File systems without hard links: fall back to a checked rename.
        Err(_) if !path.exists() => fs::rename(tmp, path).map_err(|e| io_err(path, e)),
        Err(e) => Err(io_err(path, e)),
    }
}

fn create_dir_private(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Keeps the error kind, adds the path to the message.
fn io_err(path: &Path, e: io::Error) -> CryptoError {
    CryptoError::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn key_file_err(path: &Path, msg: &str) -> CryptoError {
    CryptoError::KeyFile(format!("{}: {msg}", path.display()))
}

#[cfg(test)]
#[path = "keyfile_tests.rs"]
mod tests;
