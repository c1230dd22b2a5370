//! argon2id hashing, run on the blocking pool: a hash costs tens of milliseconds of CPU and
//! would stall every other request on the async runtime.

use std::sync::LazyLock;

use anyhow::Context as _;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// A real hash of a random password, verified against when the email is unknown, so that an
/// unknown email takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random: [u8; 16] = rand::random();
    Argon2::default()
        .hash_password(&random)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .context("hashing task failed")?
}

/// Whether `password` matches `hash`; with no hash, spends the same time and says no.
pub async fn verify(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        known && matches
    })
    .await
    .context("verification task failed")
}
