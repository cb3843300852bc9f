//! Shared test support: images built from busybox, unique names, and cleanup that runs even
//! when a test fails.
#![allow(dead_code)]

pub mod engine;
pub mod format;
pub mod http;
pub mod images;
pub mod net;
pub mod pty;
pub mod registry;

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use dockhand::backend::prelude::*;
use dockhand::backend::{AnyBackend, ByteStream};
use dockhand::model::RemoveOptions;
use futures::StreamExt;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (or test run) uses: `dh-test-<pid>-<n>-<what>`.
pub fn unique(what: &str) -> String {
    format!(
        "dh-test-{}-{}-{what}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A /24 of 10.240.0.0–10.249.255.0 that no address or route of this host is in (a
/// network of the shared dockerd has its bridge's address and route here): each test run its
/// own, so a subnet left by another run, or a user's, does not make the test fail.
pub fn unused_subnet() -> String {
    let routes = std::process::Command::new("ip")
        .args(["-4", "route", "show", "table", "all"])
        .output()
        .expect("ip (Debian iproute2; scripts/test.sh installs it)");
    let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
    let seed = std::process::id() as usize + COUNTER.fetch_add(1, Ordering::SeqCst) * 7919;
    (0..2560)
        .map(|i| (seed + i) % 2560)
        .map(|n| format!("10.{}.{}.", 240 + n / 256, n % 256))
        .find(|prefix| !routes.contains(prefix.as_str()))
        .map(|prefix| format!("{prefix}0/24"))
        .expect("a free /24 in 10.240.0.0/12")
}

/// A small xorshift generator for randomised tests, seeded from the clock unless an
/// environment variable gives the seed; the seed is printed so that a failure can be
/// replayed.
pub struct Rng {
    seed: u64,
    state: u64,
}

impl Rng {
    /// Seeded from `var` when set, else from the clock; prints the seed under `what`.
    pub fn from_env(var: &str, what: &str) -> Rng {
        let seed: u64 = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("{what} seed {seed} ({var}={seed} replays it)");
        Rng::new(seed)
    }

    /// Seeded with `seed` (0 is taken as 1).
    pub fn new(seed: u64) -> Rng {
        Rng {
            seed,
            state: seed.max(1),
        }
    }

    /// The seed it started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Whether `pid` runs (a zombie has ended).
pub fn running(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let after = &s[s.rfind(')').unwrap() + 2..];
        !after.starts_with('Z') && !after.starts_with('X')
    })
}

/// Running processes whose command line is exactly `argv` (NUL-separated in /proc).
pub fn processes(argv: &[&str]) -> Vec<i64> {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| p.file_name().to_str()?.parse::<i64>().ok())
        .filter(|p| running(*p))
        .filter(|p| std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c == wanted))
        .collect()
}

/// A command's standard output, as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's standard error, as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Insists that a command succeeded; returns its standard output.
pub fn ok(o: std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Bytes as the backends take archives.
pub fn byte_stream(data: Vec<u8>) -> ByteStream {
    futures::stream::once(async move { Ok(Bytes::from(data)) }).boxed()
}

/// Objects a test created, removed on drop whatever happened.
pub struct Cleanup {
    backend: AnyBackend,
    /// Container names or ids.
    pub containers: Vec<String>,
    /// Image references.
    pub images: Vec<String>,
    /// Volume names.
    pub volumes: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
}

impl Cleanup {
    /// Nothing to clean yet.
    pub fn new(backend: &AnyBackend) -> Cleanup {
        Cleanup {
            backend: backend.clone(),
            containers: Vec::new(),
            images: Vec::new(),
            volumes: Vec::new(),
            networks: Vec::new(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let backend = self.backend.clone();
        let containers = std::mem::take(&mut self.containers);
        let images = std::mem::take(&mut self.images);
        let volumes = std::mem::take(&mut self.volumes);
        let networks = std::mem::take(&mut self.networks);
        // Drop may run inside a runtime; do the work on a thread with its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let force = RemoveOptions {
                    force: true,
                    volumes: true,
                };
                for c in &containers {
                    let _ = backend.remove_container(c, force).await;
                }
                for n in &networks {
                    let _ = backend.remove_network(n).await;
                }
                for v in &volumes {
                    let _ = backend.remove_volume(v, true).await;
                }
                for i in &images {
                    let _ = backend.remove_image(i, true).await;
                }
            });
        });
        let _ = done.join();
    }
}
