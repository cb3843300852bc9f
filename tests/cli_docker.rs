//! The docker-compatible CLI run as a user would, against a real dockerd (`-H docker`) and
//! the demo backend: docker's columns, exit codes and messages. Names are unique per test and
//! everything made is removed at the end, also on failure.

mod common;

use std::process::{Command, Output, Stdio};

use common::{images, ok, stderr, stdout, unique};

/// Runs dockhand with these arguments (no terminal, no user config).
fn dh(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockhand"))
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent-dockhand-config")
        .env_remove("DOCKHAND_HOST")
        .env_remove("DOCKER_HOST")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn docker(args: &[&str]) -> Output {
    let mut all = vec!["-H", "docker"];
    all.extend_from_slice(args);
    dh(&all)
}

/// Removes containers, images, volumes and networks by name when dropped.
struct Leftovers(Vec<(&'static str, String)>);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for (kind, name) in self.0.drain(..).rev() {
            let _ = match kind {
                "container" => docker(&["rm", "-f", "-v", &name]),
                "image" => docker(&["rmi", "-f", &name]),
                "volume" => docker(&["volume", "rm", "-f", &name]),
                _ => docker(&["network", "rm", &name]),
            };
        }
    }
}

/// Loads the busybox test image with `dockhand load -i`.
fn load_busybox(left: &mut Leftovers) -> String {
    let tag = format!("{}:latest", unique("cli-bb"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("busybox.tar");
    std::fs::write(&file, images::busybox_archive(&tag)).unwrap();
    left.0.push(("image", tag.clone()));
    let out = ok(docker(&["load", "-i", file.to_str().unwrap()]));
    assert_eq!(out.trim(), format!("Loaded image: {tag}"));
    tag
}

#[test]
fn run_exits_with_the_containers_code_and_keeps_streams_apart() {
    let mut left = Leftovers(Vec::new());
    let image = load_busybox(&mut left);
    let o = docker(&[
        "run",
        "--rm",
        &image,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "out\n");
    assert_eq!(stderr(&o), "err\n");
    // --rm removed it.
    let all = ok(docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("ancestor={image}"),
        "-q",
    ]));
    assert_eq!(all, "");
}

#[test]
fn detached_containers_are_listed_logged_execed_and_removed() {
    let mut left = Leftovers(Vec::new());
    let image = load_busybox(&mut left);
    let name = unique("cli-web");
    left.0.push(("container", name.clone()));
    let id = ok(docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "-e",
        "GREETING=hi",
        "-p",
        "127.0.0.1::80",
        "--label",
        "suite=cli",
        &image,
        "sh",
        "-c",
        "echo one; echo two; echo three; exec sleep 300",
    ]));
    assert_eq!(id.trim().len(), 64);

    let ps = ok(docker(&["ps", "--filter", &format!("name={name}")]));
    let lines: Vec<&str> = ps.lines().collect();
    assert_eq!(lines.len(), 2, "{ps}");
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(lines[0].contains(col), "{ps}");
    }
    assert!(lines[1].starts_with(&id.trim()[..12]), "{ps}");
    assert!(
        lines[1].contains("Up ") && lines[1].contains("127.0.0.1:") && lines[1].ends_with(&name),
        "{ps}"
    );
    let quiet = ok(docker(&[
        "ps",
        "-q",
        "--filter",
        "label=suite=cli",
        "--filter",
        &format!("name={name}"),
    ]));
    assert_eq!(quiet.trim(), &id.trim()[..12]);

    // Logs are there once the shell has printed them.
    let mut tail = String::new();
    for _ in 0..50 {
        tail = ok(docker(&["logs", "--tail", "2", &name]));
        if tail == "two\nthree\n" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(tail, "two\nthree\n");
    let stamped = ok(docker(&["logs", "-t", "--tail", "1", &name]));
    assert!(
        stamped.starts_with("20") && stamped.contains("Z three"),
        "{stamped}"
    );

    assert_eq!(
        ok(docker(&["exec", &name, "sh", "-c", "echo $GREETING"])),
        "hi\n"
    );
    let o = docker(&["exec", &name, "sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7));
    let o = docker(&["exec", &name, "no-such-binary"]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("no-such-binary") && said.contains("not found"),
        "{said}"
    );

    // ps -s: what the container wrote, and that plus its image.
    ok(docker(&[
        "exec",
        &name,
        "sh",
        "-c",
        "head -c 2000 /dev/zero > /written",
    ]));
    let sized = ok(docker(&["ps", "-s", "--filter", &format!("name={name}")]));
    let header = sized.lines().next().unwrap();
    assert!(
        header
            .split_whitespace()
            .rev()
            .take(2)
            .eq(["SIZE", "NAMES"]),
        "{sized}"
    );
    let row = sized.lines().nth(1).unwrap();
    let size = row.split_once(&format!("{name}   ")).unwrap().1.trim();
    // The busybox image is a few MB; the container's own 2000 bytes are on top.
    assert!(
        size.starts_with("2kB (virtual ") && size.ends_with("MB)"),
        "{sized}"
    );

    let top = ok(docker(&["top", &name]));
    assert!(top.contains("PID") && top.contains("sleep 300"), "{top}");
    let stats = ok(docker(&["stats", "--no-stream", &name]));
    assert!(
        stats.starts_with("CONTAINER ID") && stats.contains(&name),
        "{stats}"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&ok(docker(&["inspect", &name]))).unwrap();
    assert_eq!(inspect[0]["Name"], format!("/{name}"));
    assert_eq!(inspect[0]["State"]["Running"], true);

    let o = docker(&["rm", &name]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "removing a running container fails"
    );
    assert!(stderr(&o).contains("Error:"), "{}", stderr(&o));
    assert_eq!(ok(docker(&["stop", "-t", "1", &name])), format!("{name}\n"));
    assert_eq!(
        ok(docker(&["wait", &name])),
        "137\n",
        "sleep ignores SIGTERM, so stop kills it"
    );
    let exited = ok(docker(&[
        "ps",
        "-a",
        "--filter",
        "exited=137",
        "--filter",
        &format!("name={name}"),
    ]));
    assert!(exited.contains("Exited (137)"), "{exited}");
    assert_eq!(ok(docker(&["rm", &name])), format!("{name}\n"));
}

#[test]
fn bad_input_gets_125_and_creates_nothing() {
    let mut left = Leftovers(Vec::new());
    let image = load_busybox(&mut left);
    let name = unique("cli-bad");
    left.0.push(("container", name.clone()));
    for (flag, value, needle) in [
        ("-p", "80:http", "invalid port"),
        ("-v", "relative:path", "invalid volume"),
        ("--restart", "sometimes", "invalid restart policy"),
        ("-m", "lots", "invalid memory limit"),
    ] {
        let o = docker(&["run", "-d", "--name", &name, flag, value, &image, "true"]);
        assert_eq!(o.status.code(), Some(125), "{flag} {value}");
        assert!(
            stderr(&o).contains(needle),
            "{flag} {value}: {}",
            stderr(&o)
        );
    }
    let o = docker(&["ps", "-a", "-q", "--filter", &format!("name={name}")]);
    assert_eq!(stdout(&o), "", "nothing was created");
    let o = docker(&["logs", "dh-test-no-such-container"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("no such container: dh-test-no-such-container"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn images_tag_save_load_import_and_remove() {
    let mut left = Leftovers(Vec::new());
    let image = load_busybox(&mut left);
    let tagged = format!("{}:v1", unique("cli-tag"));
    left.0.push(("image", tagged.clone()));
    ok(docker(&["tag", &image, &tagged]));
    let repo = tagged.split(':').next().unwrap();
    let listed = ok(docker(&["images", repo]));
    assert!(
        listed.starts_with("REPOSITORY") && listed.contains(repo) && listed.contains("v1"),
        "{listed}"
    );
    let history = ok(docker(&["history", &tagged]));
    assert_eq!(history.lines().count(), 4, "{history}");

    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("saved.tar");
    ok(docker(&["save", "-o", archive.to_str().unwrap(), &tagged]));
    assert_eq!(
        ok(docker(&["rmi", &tagged])),
        format!("Untagged: {tagged}\n")
    );
    assert_eq!(
        ok(docker(&["load", "-i", archive.to_str().unwrap()])),
        format!("Loaded image: {tagged}\n")
    );

    let rootfs = dir.path().join("rootfs.tar");
    std::fs::write(&rootfs, images::busybox_rootfs()).unwrap();
    let imported = format!("{}:latest", unique("cli-import"));
    left.0.push(("image", imported.clone()));
    let id = ok(docker(&[
        "import",
        "-c",
        "CMD [\"echo\", \"from import\"]",
        rootfs.to_str().unwrap(),
        &imported,
    ]));
    assert!(id.starts_with("sha256:"), "{id}");
    let o = docker(&["run", "--rm", &imported]);
    assert_eq!(stdout(&o), "from import\n");
    let o = docker(&["import", "-c", "RUN make", rootfs.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("accepted: CMD"), "{}", stderr(&o));
}

#[test]
fn volumes_and_networks_from_the_command_line() {
    let mut left = Leftovers(Vec::new());
    let vol = unique("cli-vol");
    left.0.push(("volume", vol.clone()));
    assert_eq!(ok(docker(&["volume", "create", &vol])), format!("{vol}\n"));
    let ls = ok(docker(&["volume", "ls"]));
    assert!(
        ls.starts_with("DRIVER    VOLUME NAME") && ls.contains(&format!("local     {vol}")),
        "{ls}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&ok(docker(&["volume", "inspect", &vol]))).unwrap();
    assert_eq!(doc[0]["Name"], vol.as_str());
    assert_eq!(doc[0]["Driver"], "local");
    assert_eq!(ok(docker(&["volume", "rm", &vol])), format!("{vol}\n"));

    let net = unique("cli-net");
    left.0.push(("network", net.clone()));
    let subnet = common::unused_subnet();
    let id = ok(docker(&["network", "create", "--subnet", &subnet, &net]));
    assert_eq!(id.trim().len(), 64);
    let ls = ok(docker(&["network", "ls"]));
    assert!(ls.starts_with("NETWORK ID") && ls.contains(&net), "{ls}");
    let o = docker(&["network", "rm", &net, "dh-test-no-such-net"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains(&net) && stderr(&o).contains("dh-test-no-such-net"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn info_version_and_prune_answer() {
    let info = ok(docker(&["info"]));
    assert!(
        info.contains("Backend: docker") && info.contains("Server Version:"),
        "{info}"
    );
    let version = ok(docker(&["version"]));
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")) && version.contains("API version: 1."),
        "{version}"
    );
    // Without -f the question gets no answer (no stdin), so nothing is removed.
    let o = docker(&["image", "prune"]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("Are you sure"), "{}", stderr(&o));
}

#[test]
fn the_demo_backend_answers_the_same_commands() {
    let ps = ok(dh(&["--demo", "ps", "-a"]));
    assert!(
        ps.starts_with("CONTAINER ID   IMAGE") && ps.contains("worker"),
        "{ps}"
    );
    let o = dh(&["--demo", "exec", "api", "no-such-binary"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(ok(dh(&["--demo", "exec", "api", "hostname"])).len(), 13);
    let o = dh(&["--demo", "exec", "worker", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("not running"), "{}", stderr(&o));
    let o = dh(&["--demo", "run", "nosuchimage:1", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Unable to find image"),
        "{}",
        stderr(&o)
    );
    assert!(ok(dh(&["--demo", "images"])).contains("postgres"));
    assert!(ok(dh(&["--demo", "network", "ls"])).contains("app-net"));
}

#[test]
fn cp_copies_both_ways_and_keeps_links_as_links() {
    let mut left = Leftovers(Vec::new());
    let image = load_busybox(&mut left);
    let name = unique("cli-cp");
    left.0.push(("container", name.clone()));
    ok(docker(&[
        "run",
        "-d",
        "--name",
        &name,
        &image,
        "sh",
        "-c",
        "ln -s /etc/passwd /data/link; exec sleep 300",
    ]));
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("note.txt");
    std::fs::write(&src, "from the host\n").unwrap();
    ok(docker(&[
        "cp",
        src.to_str().unwrap(),
        &format!("{name}:/data/"),
    ]));
    assert_eq!(
        ok(docker(&["exec", &name, "cat", "/data/note.txt"])),
        "from the host\n"
    );
    ok(docker(&[
        "cp",
        src.to_str().unwrap(),
        &format!("{name}:/data/renamed.txt"),
    ]));
    assert_eq!(
        ok(docker(&["exec", &name, "cat", "/data/renamed.txt"])),
        "from the host\n"
    );

    let back = dir.path().join("back");
    ok(docker(&[
        "cp",
        &format!("{name}:/data"),
        back.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(back.join("keep.txt")).unwrap(),
        "kept\n"
    );
    assert_eq!(
        std::fs::read_to_string(back.join("note.txt")).unwrap(),
        "from the host\n"
    );
    let link = std::fs::symlink_metadata(back.join("link")).unwrap();
    assert!(
        link.file_type().is_symlink(),
        "a link in the container stays a link, never followed"
    );
    assert!(!dir.path().join(".dockhand-cp").exists());

    let o = docker(&[
        "cp",
        &format!("{name}:/no/such/path"),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("no such file or directory"),
        "{}",
        stderr(&o)
    );
    let o = docker(&[
        "cp",
        src.to_str().unwrap(),
        &format!("{name}:/no/such/dir/"),
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("no such directory"), "{}", stderr(&o));
}

#[test]
fn format_templates_and_filters_follow_docker() {
    let mut left = Leftovers(Vec::new());
    let image = load_busybox(&mut left);
    let (box_, vol, net) = (unique("fmtbox"), unique("fmtvol"), unique("fmtnet"));
    left.0.push(("container", box_.clone()));
    left.0.push(("volume", vol.clone()));
    left.0.push(("network", net.clone()));
    ok(docker(&["volume", "create", &vol]));
    ok(docker(&["network", "create", &net]));
    ok(docker(&[
        "run",
        "-d",
        "--name",
        &box_,
        "-l",
        "tier=web",
        "--network",
        &net,
        &image,
        "sleep",
        "600",
    ]));
    common::format::check(
        |args| ok(docker(args)),
        &common::format::Objects {
            container: &box_,
            image: &image,
            volume: &vol,
            network: &net,
        },
    );
}

#[test]
fn security_opt_reaches_the_daemon() {
    let mut left = Leftovers(Vec::new());
    let image = load_busybox(&mut left);
    let seccomp = |flags: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&image, "grep", "^Seccomp:", "/proc/self/status"]);
        ok(docker(&args))
    };
    assert!(seccomp(&[]).contains("Seccomp:\t2"));
    assert!(seccomp(&["--security-opt", "seccomp=unconfined"]).contains("Seccomp:\t0"));
    let o = docker(&[
        "run",
        "--rm",
        "--security-opt",
        "apparmor-nonsense",
        &image,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("--security-opt"), "{}", stderr(&o));
}

#[test]
fn log_driver_and_options_reach_the_daemon() {
    let mut left = Leftovers(Vec::new());
    let image = load_busybox(&mut left);
    let rotated = unique("cli-logopt");
    left.0.push(("container", rotated.clone()));
    ok(docker(&[
        "create",
        "--name",
        &rotated,
        "--log-opt",
        "max-size=1m",
        "--log-opt",
        "max-file=2",
        &image,
        "true",
    ]));
    let v: serde_json::Value = serde_json::from_str(&ok(docker(&["inspect", &rotated]))).unwrap();
    let log = &v[0]["HostConfig"]["LogConfig"];
    assert_eq!(log["Type"], "json-file", "{log}");
    assert_eq!(log["Config"]["max-size"], "1m", "{log}");
    assert_eq!(log["Config"]["max-file"], "2", "{log}");

    // With the none driver the output is kept nowhere, and logs says so.
    let silent = unique("cli-nolog");
    left.0.push(("container", silent.clone()));
    // A foreground run still shows the output: it comes through an attach.
    let out = ok(docker(&[
        "run",
        "--name",
        &silent,
        "--log-driver",
        "none",
        &image,
        "echo",
        "unkept",
    ]));
    assert_eq!(out, "unkept\n");
    let v: serde_json::Value = serde_json::from_str(&ok(docker(&["inspect", &silent]))).unwrap();
    assert_eq!(v[0]["HostConfig"]["LogConfig"]["Type"], "none");
    let o = docker(&["logs", &silent]);
    assert!(!o.status.success(), "logs of a none-driver container");
    assert!(!stdout(&o).contains("unkept"));

    // A malformed option is refused before anything is sent.
    let o = docker(&["run", "--rm", "--log-opt", "max-size", &image, "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("KEY=VALUE"), "{}", stderr(&o));
}
