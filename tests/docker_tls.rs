//! The Docker backend over TLS, against a second dockerd that listens on tcp with
//! `--tlsverify`. That daemon runs in its own network namespace (so it never touches the
//! host's docker0 or netfilter rules) with its own data and exec roots; the CLI joins the
//! namespace with nsenter to reach it on 127.0.0.1. Certificates are made by openssl for each
//! run. The daemon, its containerd, its mounts and the namespace go away when the test ends,
//! also when it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ok, stderr, unique};

const URL: &str = "tcp://127.0.0.1:2376";

/// Runs a command and insists on success.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test.sh installs it)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and client certificates, all made by openssl.
struct Certificates {
    dir: PathBuf,
}

impl Certificates {
    fn new(dir: &Path) -> Certificates {
        let c = Certificates {
            dir: dir.to_path_buf(),
        };
        std::fs::create_dir_all(dir.join("client")).unwrap();
        c.authority("ca");
        c.signed(
            "server",
            "ca",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        c.signed("client/cert", "ca", "extendedKeyUsage=clientAuth\n");
        std::fs::copy(dir.join("ca.pem"), dir.join("client/ca.pem")).unwrap();
        std::fs::rename(dir.join("client/cert-key.pem"), dir.join("client/key.pem")).unwrap();
        // A second CA and a client it signed: trusted by nobody here.
        c.authority("other-ca");
        c.signed("stranger", "other-ca", "extendedKeyUsage=clientAuth\n");
        c
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn authority(&self, name: &str) {
        run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &self.path(&format!("{name}-key.pem")),
                "-out",
                &self.path(&format!("{name}.pem")),
            ],
        );
    }

    fn signed(&self, name: &str, ca: &str, extensions: &str) {
        let ext = self.path(&format!("{name}.ext"));
        std::fs::write(&ext, extensions).unwrap();
        let csr = self.path(&format!("{name}.csr"));
        run(
            "openssl",
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                &format!("/CN={}", name.rsplit('/').next().unwrap_or(name)),
                "-keyout",
                &self.path(&format!("{name}-key.pem")),
                "-out",
                &csr,
            ],
        );
        run(
            "openssl",
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &csr,
                "-CA",
                &self.path(&format!("{ca}.pem")),
                "-CAkey",
                &self.path(&format!("{ca}-key.pem")),
                "-CAcreateserial",
                "-extfile",
                &ext,
                "-out",
                &self.path(&format!("{name}.pem")),
            ],
        );
    }
}

/// dockerd with --tlsverify in a network namespace of its own.
struct TlsDaemon {
    dir: tempfile::TempDir,
    netns: String,
    daemon: Option<Child>,
    certs: Certificates,
}

impl TlsDaemon {
    fn start() -> TlsDaemon {
        let dir = tempfile::Builder::new()
            .prefix("dockhand-tls-")
            .tempdir()
            .unwrap();
        let certs = Certificates::new(&dir.path().join("certs"));
        let netns = unique("tls");
        let mut me = TlsDaemon {
            dir,
            netns,
            daemon: None,
            certs,
        };
        run("ip", &["netns", "add", &me.netns]);
        run("ip", &["-n", &me.netns, "link", "set", "lo", "up"]);
        let root = me.dir.path().to_path_buf();
        let log = std::fs::File::create(root.join("dockerd.log")).unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", me.netns))
            .arg("dockerd")
            .args(["--data-root", &root.join("data").display().to_string()])
            .args(["--exec-root", &root.join("exec").display().to_string()])
            .args(["--pidfile", &root.join("dockerd.pid").display().to_string()])
            .args(["-H", URL, "--tlsverify"])
            .args(["--tlscacert", &me.certs.path("ca.pem")])
            .args(["--tlscert", &me.certs.path("server.pem")])
            .args(["--tlskey", &me.certs.path("server-key.pem")])
            // Nothing of the host's networking is touched, in or out of the namespace.
            .args(["--bridge", "none", "--iptables=false", "--ip6tables=false"])
            .args(["--ip-masq=false", "--ip-forward=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd (scripts/test.sh installs docker.io)");
        me.daemon = Some(child);
        me.wait_until_it_answers();
        me
    }

    /// dockhand in the daemon's network namespace, with no user config.
    fn dh(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(env!("CARGO_BIN_EXE_dockhand"))
            .args(args)
            .env("XDG_CONFIG_HOME", "/nonexistent-dockhand-config")
            .env_remove("DOCKHAND_HOST")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// dockhand with these three TLS files.
    fn with_files(&self, ca: &str, cert: &str, key: &str, args: &[&str]) -> Output {
        let mut all = vec![
            "-H",
            URL,
            "--tlscacert",
            ca,
            "--tlscert",
            cert,
            "--tlskey",
            key,
        ];
        all.extend_from_slice(args);
        self.dh(&all, &[])
    }

    /// dockhand with the client's certificate files.
    fn with_tls(&self, args: &[&str]) -> Output {
        let (ca, cert, key) = self.client_files();
        self.with_files(&ca, &cert, &key, args)
    }

    fn client_files(&self) -> (String, String, String) {
        (
            self.certs.path("client/ca.pem"),
            self.certs.path("client/cert.pem"),
            self.certs.path("client/key.pem"),
        )
    }

    fn wait_until_it_answers(&mut self) {
        let start = Instant::now();
        loop {
            if self.with_tls(&["version"]).status.success() {
                return;
            }
            let exited = self.daemon.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || start.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(self.dir.path().join("dockerd.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                panic!(
                    "the TLS dockerd did not answer (exit {exited:?}); its log ends:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Processes whose command line names this daemon's directory (dockerd, its containerd).
    fn own_processes(&self) -> Vec<i32> {
        let marker = self.dir.path().display().to_string();
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
            })
            .collect()
    }
}

impl Drop for TlsDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            // A clean stop takes its containerd down too.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in self.own_processes() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        // dockerd bind-mounts its data root (and may leave mounts under it on a hard stop).
        let marker = self.dir.path().display().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut points: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|p| p.starts_with(&marker))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = Command::new("umount").args(["-l", p]).status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

/// Fails with dockhand's own exit code and says this.
fn refused(o: Output, says: &str) {
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(says),
        "expected {says:?} in: {}",
        stderr(&o)
    );
}

#[test]
fn a_tls_daemon_is_reached_with_its_certificates_and_refused_without() {
    let d = TlsDaemon::start();

    // The flags.
    let version = ok(d.with_tls(&["version"]));
    assert!(
        version.contains("Server: docker") && version.contains(&format!("Endpoint: {URL}")),
        "{version}"
    );
    let ps = ok(d.with_tls(&["ps", "-a"]));
    assert!(ps.starts_with("CONTAINER ID"), "{ps}");
    assert!(ok(d.with_tls(&["info"])).contains("Server Version"));

    // Docker's own variables, with `-H docker`.
    let client = d.certs.path("client");
    let env = [
        ("DOCKER_HOST", URL),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", client.as_str()),
    ];
    ok(d.dh(&["-H", "docker", "ps"], &env));

    // An endpoint named in the config file.
    let (ca, cert, key) = d.client_files();
    let config = d.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[endpoints.secure]\nhost = \"{URL}\"\ntlscacert = \"{}\"\ntlscert = \"{}\"\ntlskey = \"{}\"\n",
            ca, cert, key
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    ok(d.dh(&["--config", &config, "-H", "secure", "ps"], &[]));

    // Refusals say what to give or fix.
    refused(
        d.dh(&["-H", URL, "ps"], &[]),
        "speaks TLS: give --tlscacert",
    );
    refused(
        d.dh(
            &["-H", URL, "--tlscacert", &ca, "--tlscert", &cert, "ps"],
            &[],
        ),
        "needs all three",
    );
    let other_ca = d.certs.path("other-ca.pem");
    refused(
        d.with_files(&other_ca, &cert, &key, &["ps"]),
        "--tlscacert must be the CA",
    );
    let (stranger, stranger_key) = (
        d.certs.path("stranger.pem"),
        d.certs.path("stranger-key.pem"),
    );
    refused(
        d.with_files(&ca, &stranger, &stranger_key, &["ps"]),
        "--tlscert and --tlskey",
    );
    refused(
        d.with_files("/nonexistent/ca.pem", &cert, &key, &["ps"]),
        "cannot read the TLS file /nonexistent/ca.pem",
    );
}
