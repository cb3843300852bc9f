//! The dockhand binary on the embedded engine (no -H) with a temporary data root and config
//! directory; containers it made are removed on drop, also when a test fails.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A temporary engine root and the commands run against it.
pub struct Engine {
    /// Holds the root, the config directory and scratch files.
    pub dir: tempfile::TempDir,
    /// Every command runs in a mount namespace of its own where /sys/fs/cgroup is the unified
    /// hierarchy alone: what a pure cgroup v2 host shows, on a hybrid one.
    unified_view: bool,
}

impl Engine {
    /// An empty data root with the busybox test image loaded; returns it and the image's
    /// name.
    pub fn with_busybox() -> (Engine, String) {
        let engine = Engine::new();
        let image = format!("{}:1", super::unique("busybox"));
        let archive = engine.write("busybox.tar", &super::images::busybox_archive(&image));
        engine.ok(&["load", "-i", archive.to_str().unwrap()]);
        (engine, image)
    }

    /// An empty data root.
    pub fn new() -> Engine {
        Engine {
            dir: tempfile::tempdir().unwrap(),
            unified_view: false,
        }
    }

    /// An empty data root whose commands see a pure cgroup v2 host; `None` when this host
    /// has no unified hierarchy to show.
    pub fn unified_view() -> Option<Engine> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let has_v2 = info.lines().any(|l| {
            l.split_once(" - ")
                .is_some_and(|(_, a)| a.starts_with("cgroup2 "))
        });
        has_v2.then(|| Engine {
            dir: tempfile::tempdir().unwrap(),
            unified_view: true,
        })
    }

    /// The data root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The embedded engine's backend on this root, in this process (its commands run this
    /// build's binary).
    pub fn backend(&self) -> dockhand::backend::EngineBackend {
        dockhand::backend::EngineBackend::open(
            &self.root(),
            dockhand::backend::engine::EngineOptions {
                exe: Some(env!("CARGO_BIN_EXE_dockhand").into()),
                ..Default::default()
            },
        )
        .unwrap()
    }

    /// `dockhand ARGS` on this root, with stdin closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let exe = env!("CARGO_BIN_EXE_dockhand");
        let mut c = if self.unified_view {
            let mut c = Command::new("unshare");
            c.args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg("mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$0\" \"$@\"")
                .arg(exe);
            c
        } else {
            Command::new(exe)
        };
        c.args(args)
            .env_remove("DOCKHAND_HOST")
            .env("DOCKHAND_ROOT", self.root())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("HOME", self.dir.path())
            .env_remove("DOCKER_CONFIG")
            .stdin(Stdio::null());
        c
    }

    /// Runs and returns what happened.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "dockhand {args:?} failed ({:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and expects failure with `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "dockhand {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Writes a scratch file and returns its path.
    pub fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    /// `inspect NAME`, the first document.
    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.ok(&["inspect", name])).unwrap();
        v[0].clone()
    }

    /// A container's state as inspect says it.
    pub fn status(&self, name: &str) -> String {
        self.inspect(name)["State"]["Status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits up to 30 s for `done`.
    pub fn wait_for(&self, what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if !self.root().join("containers").exists() {
            return;
        }
        let ids = self.run(&["ps", "-a", "-q"]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            let _ = self.run(&["rm", "-f", id]);
        }
        // Bridges and netfilter rules are the host's (the default network's too): they go
        // with the test's root.
        let _ = self.run(&["system", "reset", "-f"]);
    }
}
