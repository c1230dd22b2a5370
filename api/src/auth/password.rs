//! argon2id hashing, run off the async runtime (a hash costs tens of milliseconds of CPU and
//! would stall every other request there) on a few threads of its own, one per core: hashing is
//! CPU-bound, so more threads would not finish sooner, and each thread that ever hashed keeps its
//! allocator arena holding argon2's 19 MiB of blocks; on tokio's blocking pool (hundreds of
//! threads coming and going) that grew the server by 19 MiB per sign-up.

use std::{
    panic::AssertUnwindSafe,
    sync::{Arc, LazyLock, Mutex, mpsc},
};

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

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads' queue.
static HASHERS: LazyLock<mpsc::Sender<Job>> = LazyLock::new(|| {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    for n in 0..threads {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                loop {
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                }
            });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "cannot start a hashing thread");
        }
    }
    jobs
});

/// Runs `work` on a hashing thread.
async fn on_hasher<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    HASHERS
        .send(Box::new(move || {
            let _ = done.send(work());
        }))
        .map_err(|_| anyhow::anyhow!("the hashing threads are gone"))?;
    result.await.context("a hashing job failed")
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    on_hasher(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await?
}

/// Whether `password` matches `hash`; with no hash, spends the same time and says no.
pub async fn verify(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    on_hasher(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        known && matches
    })
    .await
}
