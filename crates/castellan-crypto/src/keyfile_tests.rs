//! Tests of key file persistence (`keyfile.rs`).

use super::*;
use crate::envelope::{data_key_aad, DataKey};

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn write_private(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    #[cfg(unix)]
    set_mode(path, 0o600);
}

#[test]
fn save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/keyring.json");
    let mut ring = Keyring::generate();
    let aad = data_key_aad("vault", "dek");
    let dek = DataKey::generate();
    let old = ring.wrap(&dek, &aad);
    ring.rotate();
    ring.save(&path).unwrap();

    #[cfg(unix)]
    assert_eq!(mode_of(&path), 0o600);

    let loaded = Keyring::load(&path).unwrap();
    assert_eq!(loaded.key_ids(), ring.key_ids());
    assert_eq!(loaded.active().id(), ring.active().id());
    assert_eq!(
        loaded.active().created_at_unix(),
        ring.active().created_at_unix()
    );
    assert_eq!(
        *loaded.unwrap(&old, &aad).unwrap().to_bytes(),
        *dek.to_bytes()
    );

    // No temp files left behind.
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keyring.json")]);

    // Saving again replaces the file and keeps mode 0600.
    let mut loaded = loaded;
    let third = loaded.rotate();
    loaded.save(&path).unwrap();
    #[cfg(unix)]
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(Keyring::load(&path).unwrap().active().id(), &third);
}

#[test]
fn file_format_matches_spec() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    let ring = Keyring::generate();
    ring.save(&path).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["active"], ring.active().id().as_str());
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], ring.active().id().as_str());
    let raw = STANDARD.decode(keys[0]["key"].as_str().unwrap()).unwrap();
    assert_eq!(raw.as_slice(), ring.active().key.as_bytes());
    assert!(keys[0]["created_at_unix"].as_u64().unwrap() > 1_600_000_000);
}

#[cfg(unix)]
#[test]
fn load_refuses_group_or_world_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    Keyring::generate().save(&path).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o620, 0o660] {
        set_mode(&path, mode);
        match Keyring::load(&path) {
            Err(CryptoError::KeyFile(msg)) => {
                assert!(msg.contains(&path.display().to_string()), "{msg}");
                assert!(msg.contains("chmod 600"), "{msg}");
            }
            other => panic!("mode {mode:o} accepted: {other:?}"),
        }
        assert!(Keyring::load_or_create(&path).is_err());
    }
    set_mode(&path, 0o400);
    Keyring::load(&path).unwrap();
}

#[test]
fn load_or_create_creates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/keyring.json");
    let (ring, created) = Keyring::load_or_create(&path).unwrap();
    assert!(created);
    #[cfg(unix)]
    assert_eq!(mode_of(&path), 0o600);
    let (again, created) = Keyring::load_or_create(&path).unwrap();
    assert!(!created);
    assert_eq!(again.key_ids(), ring.key_ids());
    // The no-clobber path refuses to replace an existing file.
    let other = Keyring::generate();
    let err = write_atomic(&path, &other.to_json(), true);
    assert!(matches!(err, Err(CryptoError::Io(e)) if e.kind() == io::ErrorKind::AlreadyExists));
    assert_eq!(Keyring::load(&path).unwrap().key_ids(), ring.key_ids());
}

#[test]
fn missing_file_is_io_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.json");
    match Keyring::load(&path) {
        Err(CryptoError::Io(e)) => {
            assert_eq!(e.kind(), io::ErrorKind::NotFound);
            assert!(e.to_string().contains("absent.json"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_files_are_refused_without_leaking_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    let good = STANDARD.encode([7u8; 32]);
    let short = STANDARD.encode([7u8; 31]);
    let cases = [
        ("not json".to_string(), "line"),
        (format!(r#"{{"version":1,"active":"a","keys":"{good}"}}"#), "line"),
        (
            format!(r#"{{"version":2,"active":"a","keys":[{{"id":"a","key":"{good}","created_at_unix":1}}]}}"#),
            "version",
        ),
        (r#"{"version":1,"active":"a","keys":[]}"#.to_string(), "no keys"),
        (
            format!(r#"{{"version":1,"active":"a","keys":[{{"id":"a","key":"{short}","created_at_unix":1}}]}}"#),
            "32 bytes",
        ),
        (
            r#"{"version":1,"active":"a","keys":[{"id":"a","key":"!!notbase64!!","created_at_unix":1}]}"#.to_string(),
            "base64",
        ),
        (
            format!(r#"{{"version":1,"active":"b","keys":[{{"id":"a","key":"{good}","created_at_unix":1}}]}}"#),
            "active",
        ),
        (
            format!(r#"{{"version":1,"active":"a","keys":[{{"id":"a","key":"{good}","created_at_unix":1}},{{"id":"a","key":"{good}","created_at_unix":2}}]}}"#),
            "duplicate",
        ),
        (
            format!(r#"{{"version":1,"active":"a","keys":[{{"id":"a","key":"{good}","created_at_unix":"{good}"}}]}}"#),
            "line",
        ),
    ];
    for (text, expect) in cases {
        write_private(&path, &text);
        match Keyring::load(&path) {
            Err(CryptoError::KeyFile(msg)) => {
                assert!(msg.contains(expect), "{msg} (wanted {expect})");
                assert!(!msg.contains(&good) && !msg.contains(&short), "{msg}");
                assert!(!msg.contains("notbase64"), "{msg}");
            }
            other => panic!("accepted {text}: {other:?}"),
        }
    }
    // A hand-written valid file loads.
    write_private(
        &path,
        &format!(
            r#"{{"version":1,"active":"a","keys":[{{"id":"a","key":"{good}","created_at_unix":1}}]}}"#
        ),
    );
    let ring = Keyring::load(&path).unwrap();
    assert_eq!(ring.active().id(), &KeyId("a".into()));
    assert_eq!(ring.active().key.as_bytes(), &[7u8; 32]);
}
