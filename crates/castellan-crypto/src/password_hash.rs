//! Sign-in password hashing with Argon2id (RFC 9106), via the RustCrypto
//! `argon2` 0.5 crate, through one bounded gate.
//!
//! Parameters are the crate defaults, which are RFC 9106's second recommended
//! option (§4, memory-constrained): Argon2id v0x13, m = 19 MiB (19456 KiB),
//! t = 2 passes, p = 1 lane, 32-byte output, with a random 16-byte salt from
//! `OsRng`. Results are PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), which carry their own
//! parameters, so verification keeps working if the defaults change.
//!
//! Every hash and every verification in the process goes through one
//! [`HashGate`] ([`hash_gate`]): at most [`HashGate::max_concurrent`] run at
//! once, each in a memory buffer that the gate keeps and reuses, so the memory
//! Argon2 uses is bounded by that number × 19 MiB whatever the load, and is not
//! handed back to the allocator after each use (glibc keeps freed blocks of
//! this size in its arenas, so 250 concurrent sign-ins used to leave gigabytes
//! allocated). A caller that finds every slot busy waits up to
//! [`HashGate::wait`], then gets [`CryptoError::Busy`]. [`hash_password`] and
//! [`verify_password`] are the only entry points: a new password path gets the
//! limit by calling them.

use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;

use crate::error::CryptoError;

/// How long a caller waits for a free slot before [`CryptoError::Busy`] (2 s).
pub const DEFAULT_HASH_WAIT: Duration = Duration::from_secs(2);

/// Bytes of Argon2 memory one slot uses with the default parameters (19 MiB).
pub const SLOT_BYTES: u64 = 19 * 1024 * 1024;

/// Largest memory cost (KiB) accepted from a stored PHC string: 64 MiB. A hash
/// with a larger one does not verify (it cannot come from this code).
const MAX_M_COST_KIB: u32 = 64 * 1024;

/// Share of the machine's memory the default slot count may use: 1/32.
const MEMORY_SHARE: u64 = 32;

/// Bounds concurrent Argon2 computations and owns their memory buffers.
///
/// `max_concurrent` computations run at once; each borrows a buffer from the
/// gate's free list (allocated on first use, kept afterwards, zeroed after each
/// use). Others wait up to `wait` for a slot.
#[derive(Debug)]
pub struct HashGate {
    max: usize,
    wait: Duration,
    state: Mutex<Slots>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct Slots {
    busy: usize,
    spare: Vec<Vec<Block>>,
}

/// Gives a slot's buffer back (zeroed) and wakes one waiter, also on unwind.
struct SlotGuard<'g> {
    gate: &'g HashGate,
    buf: Vec<Block>,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.fill(Block::default());
        if buf.len() > Params::DEFAULT.block_count() {
            // Grown for an unusual stored hash: do not keep more than the default size.
            buf = Vec::new();
        }
        let mut s = self.gate.lock();
        s.busy -= 1;
        s.spare.push(buf);
        drop(s);
        self.gate.freed.notify_one();
    }
}

impl HashGate {
    /// A gate running at most `max_concurrent` (at least 1) computations at once,
    /// whose callers wait up to `wait` for a slot.
    pub fn new(max_concurrent: usize, wait: Duration) -> Self {
        Self {
            max: max_concurrent.max(1),
            wait,
            state: Mutex::new(Slots::default()),
            freed: Condvar::new(),
        }
    }

    /// How many computations may run at once.
    pub fn max_concurrent(&self) -> usize {
        self.max
    }

    /// How long a caller waits for a slot.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding this lock cannot leave the counters half-updated.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on a buffer of `blocks` Argon2 blocks once a slot is free
    /// (blocking the calling thread up to `wait`).
    fn with_memory<T>(
        &self,
        blocks: usize,
        f: impl FnOnce(&mut [Block]) -> T,
    ) -> Result<T, CryptoError> {
        let deadline = Instant::now() + self.wait;
        let mut s = self.lock();
        while s.busy >= self.max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CryptoError::Busy {
                    retry_after: Duration::from_secs(1),
                });
            }
            s = self
                .freed
                .wait_timeout(s, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        s.busy += 1;
        let buf = s.spare.pop().unwrap_or_default();
        drop(s);
        let mut guard = SlotGuard { gate: self, buf };
        if guard.buf.len() < blocks {
            guard.buf.resize(blocks, Block::default());
        }
        Ok(f(&mut guard.buf[..blocks]))
    }

    /// Hashes `password` (UTF-8 bytes, any length) with Argon2id and a fresh
    /// 16-byte random salt; returns the PHC string (about 97 ASCII chars).
    ///
    /// # Errors
    /// [`CryptoError::Busy`] when no slot freed up within the wait;
    /// [`CryptoError::PasswordHash`] if the `argon2` crate reports an error
    /// (not expected with default parameters).
    pub fn hash(&self, password: &str) -> Result<String, CryptoError> {
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::DEFAULT;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_buf)
            .map_err(|_| CryptoError::PasswordHash)?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.with_memory(params.block_count(), |mem| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, mem)
        })?
        .map_err(|_| CryptoError::PasswordHash)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|_| CryptoError::PasswordHash)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|_| CryptoError::PasswordHash)?),
        };
        Ok(phc.to_string())
    }

    /// Checks `password` against a PHC string from [`HashGate::hash`] (any
    /// Argon2 variant and parameters encoded in the string, memory cost up to
    /// 64 MiB; the comparison is constant-time inside `password-hash`).
    ///
    /// Returns `Ok(true)` only on a match; `Ok(false)` on mismatch or a
    /// malformed / unsupported PHC string.
    ///
    /// # Errors
    /// [`CryptoError::Busy`] when no slot freed up within the wait.
    pub fn verify(&self, password: &str, phc: &str) -> Result<bool, CryptoError> {
        let Some((argon, salt, expected)) = parse_phc(phc) else {
            return Ok(false);
        };
        let mut salt_buf = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
            return Ok(false);
        };
        let mut out = vec![0u8; expected.len()];
        let blocks = argon.params().block_count();
        let done = self.with_memory(blocks, |mem| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, mem)
        })?;
        Ok(done.is_ok() && Output::new(&out).is_ok_and(|o| o == expected))
    }
}

/// The hasher, salt and expected output of a PHC string, if it is a usable Argon2 one.
fn parse_phc(phc: &str) -> Option<(Argon2<'static>, argon2::password_hash::Salt<'_>, Output)> {
    let parsed = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    if params.m_cost() > MAX_M_COST_KIB {
        return None;
    }
    Some((
        Argon2::new(algorithm, version, params),
        parsed.salt?,
        parsed.hash?,
    ))
}

static GATE: OnceLock<HashGate> = OnceLock::new();

/// Sets the process-wide gate's slot count and wait. Call it once at start,
/// before anything hashes. Returns `false` (and changes nothing) when the gate
/// already exists.
pub fn configure_hash_gate(max_concurrent: usize, wait: Duration) -> bool {
    GATE.set(HashGate::new(max_concurrent, wait)).is_ok()
}

/// The process-wide gate ([`default_hash_concurrency`] slots and
/// [`DEFAULT_HASH_WAIT`] unless [`configure_hash_gate`] said otherwise).
pub fn hash_gate() -> &'static HashGate {
    GATE.get_or_init(|| HashGate::new(default_hash_concurrency(), DEFAULT_HASH_WAIT))
}

/// The default slot count: the CPU cores this process may use, but no more
/// slots than 1/32 of the memory (the machine's, or the cgroup limit when lower)
/// divided by 19 MiB; at least 1, at most 64. Hashing is CPU-bound: more slots
/// than cores add memory, not throughput.
pub fn default_hash_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let by_memory = memory_limit_bytes().map_or(usize::MAX, |m| {
        usize::try_from(m / (MEMORY_SHARE * SLOT_BYTES)).unwrap_or(usize::MAX)
    });
    cores.min(by_memory).clamp(1, 64)
}

/// The memory this process may use in bytes: the smaller of `MemTotal` in
/// `/proc/meminfo` and the cgroup v2 (`memory.max`) or v1 (`memory.limit_in_bytes`)
/// limit. `None` where none of them can be read.
fn memory_limit_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    });
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

/// Hashes `password` through the process-wide gate ([`HashGate::hash`]).
///
/// # Errors
/// [`CryptoError::Busy`] when every slot stayed busy for the gate's wait;
/// [`CryptoError::PasswordHash`] on an internal error of the `argon2` crate.
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    hash_gate().hash(password)
}

/// Checks `password` against `phc` through the process-wide gate
/// ([`HashGate::verify`]): `Ok(true)` only on a match.
///
/// # Errors
/// [`CryptoError::Busy`] when every slot stayed busy for the gate's wait.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, CryptoError> {
    hash_gate().verify(password, phc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};
    use std::sync::Arc;

    #[test]
    fn hash_and_verify() {
        let phc = hash_password("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify_password("correct horse battery staple", &phc).unwrap());
        assert!(!verify_password("correct horse battery stapler", &phc).unwrap());
        assert!(!verify_password("", &phc).unwrap());
        // Salted: same password, different hash; both verify.
        let phc2 = hash_password("correct horse battery staple").unwrap();
        assert_ne!(phc, phc2);
        assert!(verify_password("correct horse battery staple", &phc2).unwrap());
    }

    #[test]
    fn agrees_with_the_argon2_crate_both_ways() {
        let ours = hash_password("interop password").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"interop password", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"interop password", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("interop password", &theirs).unwrap());
        assert!(!verify_password("interop passwort", &theirs).unwrap());
        // Other parameters and variants, as encoded in the string.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8192, 3, 1, Some(24)).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password("pw", &argon2i).unwrap());
        assert!(!verify_password("px", &argon2i).unwrap());
    }

    #[test]
    fn malformed_phc_is_false() {
        assert!(!verify_password("x", "").unwrap());
        assert!(!verify_password("x", "not a phc string").unwrap());
        assert!(!verify_password("x", "$argon2id$v=19$m=19456,t=2,p=1$").unwrap());
        let phc = hash_password("x").unwrap();
        let truncated = &phc[..phc.len() - 5];
        assert!(!verify_password("x", truncated).unwrap());
        // A memory cost beyond the 64 MiB cap is refused, not computed.
        let huge = phc.replace("m=19456", "m=4194304");
        assert!(!verify_password("x", &huge).unwrap());
    }

    #[test]
    fn unicode_and_empty_passwords() {
        for pw in ["", "pässwörd 🔐", " leading and trailing "] {
            let phc = hash_password(pw).unwrap();
            assert!(verify_password(pw, &phc).unwrap());
            assert!(!verify_password(&format!("{pw}x"), &phc).unwrap());
        }
    }

    #[test]
    fn a_full_gate_makes_callers_wait_then_refuses() {
        let gate = Arc::new(HashGate::new(1, Duration::from_millis(50)));
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                gate.with_memory(8, |_| {
                    held_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .unwrap();
            })
        };
        held_rx.recv().unwrap();
        let started = Instant::now();
        let err = gate.hash("pw").unwrap_err();
        assert!(matches!(err, CryptoError::Busy { .. }), "{err:?}");
        assert!(started.elapsed() >= Duration::from_millis(50));
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        // The slot and its buffer came back: the next caller gets them.
        let phc = gate.hash("pw").unwrap();
        assert!(gate.verify("pw", &phc).unwrap());
        let s = gate.lock();
        assert_eq!(s.busy, 0);
        assert_eq!(s.spare.len(), 1, "one buffer, reused");
        assert!(s.spare[0]
            .iter()
            .all(|b| b.as_ref().iter().all(|w| *w == 0)));
    }

    #[test]
    fn waiters_get_a_slot_when_one_frees_within_the_wait() {
        let gate = Arc::new(HashGate::new(2, Duration::from_secs(30)));
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let gate = gate.clone();
                std::thread::spawn(move || {
                    let pw = format!("pw-{i}");
                    let phc = gate.hash(&pw).unwrap();
                    assert!(gate.verify(&pw, &phc).unwrap());
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(
            gate.lock().spare.len() <= 2,
            "never more buffers than slots"
        );
    }

    #[test]
    fn default_concurrency_is_at_least_one() {
        let n = default_hash_concurrency();
        assert!((1..=64).contains(&n));
        assert!(n <= std::thread::available_parallelism().unwrap().get());
    }
}
