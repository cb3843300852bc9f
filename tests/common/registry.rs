//! A real registry on loopback for the tests: Debian's `docker-registry` on a free port of
//! 127.0.0.1, storing in a temporary directory, optionally behind htpasswd basic auth, and
//! filled by skopeo. Stopped and removed on drop.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running registry.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// Basic auth user and password, when it asks for them.
    pub user: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether process `pid` holds the socket listening on 127.0.0.1:`port` (so a listener
/// that took the port meanwhile is not taken for it).
fn listens(pid: u32, port: u16) -> bool {
    let wanted = format!("0100007F:{port:04X}");
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 9 && f[1] == wanted && f[3] == "0A").then(|| format!("socket:[{}]", f[9]))
        })
        .collect();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|l| inodes.iter().any(|i| l.to_str() == Some(i)))
}

impl Registry {
    /// Starts a registry; with `auth`, only that user and password get in. A port another
    /// process took between being found free and being bound is given up for another.
    pub fn start(auth: Option<(&str, &str)>) -> Registry {
        for _ in 0..5 {
            if let Some(r) = Self::try_start(auth) {
                return r;
            }
        }
        panic!("the registry could not bind a free port of 127.0.0.1 in five tries");
    }

    fn try_start(auth: Option<(&str, &str)>) -> Option<Registry> {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if let Some((user, pass)) = auth {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pass])
                .output()
                .expect("htpasswd (Debian apache2-utils; scripts/test.sh installs it)");
            assert!(out.status.success());
            std::fs::write(dir.path().join("htpasswd"), &out.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: dockhand-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian docker-registry; scripts/test.sh installs it)");
        let mut registry = Registry {
            child,
            host: host.clone(),
            user: auth.map(|(u, p)| (u.to_string(), p.to_string())),
            _dir: dir,
        };
        let start = Instant::now();
        while !listens(registry.child.id(), port) {
            if registry.child.try_wait().unwrap().is_some() {
                // It could not bind: the port was taken meanwhile.
                return None;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the registry on {host} did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            TcpStream::connect(&host).is_ok(),
            "the registry on {host} takes no connection"
        );
        Some(registry)
    }

    /// Copies a `docker save` archive into the registry as `name` (e.g. `busybox:v1`), with
    /// extra skopeo flags (e.g. a compression format).
    pub fn push_archive(&self, archive: &[u8], name: &str, extra: &[&str]) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), archive).unwrap();
        self.skopeo_copy(
            &format!("docker-archive:{}", file.path().display()),
            name,
            extra,
        );
    }

    /// `skopeo copy SOURCE docker://HOST/NAME`.
    pub fn skopeo_copy(&self, source: &str, name: &str, extra: &[&str]) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if let Some((u, p)) = &self.user {
            cmd.arg(format!("--dest-creds={u}:{p}"));
        }
        cmd.args(extra)
            .arg(source)
            .arg(format!("docker://{}/{name}", self.host));
        let out = cmd
            .output()
            .expect("skopeo (Debian skopeo; scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The manifest digest skopeo sees for `name`.
    pub fn digest(&self, name: &str) -> String {
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]);
        if let Some((u, p)) = &self.user {
            cmd.arg(format!("--creds={u}:{p}"));
        }
        let out = cmd
            .arg(format!("docker://{}/{name}", self.host))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo inspect: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Copies `name` out of the registry into a `docker save` archive at `dest`.
    pub fn pull_archive(&self, name: &str, dest: &Path) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", "--src-tls-verify=false"]);
        if let Some((u, p)) = &self.user {
            cmd.arg(format!("--src-creds={u}:{p}"));
        }
        let out = cmd
            .arg(format!("docker://{}/{name}", self.host))
            .arg(format!("docker-archive:{}:{name}", dest.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
