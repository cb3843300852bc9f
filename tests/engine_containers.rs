//! Containers on the embedded engine, as root with real namespaces, cgroups and overlayfs,
//! driven through the binary (no -H) on a temporary data root: isolation a user can check,
//! the lifecycle as docker shows it, the layered root filesystem, cgroup limits, restart
//! policies, logs, and a monitor that dies. Every test removes its containers, also when it
//! fails.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::engine::Engine;
use common::{images, unique};

/// An engine root with the busybox test image loaded.
struct Loaded {
    engine: Engine,
    image: String,
}

impl std::ops::Deref for Loaded {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl Loaded {
    fn new() -> Loaded {
        Loaded::on(Engine::new())
    }

    fn on(engine: Engine) -> Loaded {
        let image = format!("{}:1", unique("busybox"));
        let archive = engine.write("busybox.tar", &images::busybox_archive(&image));
        engine.ok(&["load", "-i", archive.to_str().unwrap()]);
        Loaded { engine, image }
    }

    /// `run --rm IMAGE sh -c SCRIPT` with extra flags; returns (code, stdout, stderr).
    fn sh(&self, flags: &[&str], script: &str) -> (i32, String, String) {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&self.image, "sh", "-c", script]);
        let out = self.run(&args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn a_container_sees_only_itself() {
    let e = Loaded::new();
    let (code, out, err) = e.sh(
        &["--hostname", "box"],
        "echo $$; hostname; ps -o pid,args; true",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "the shell is PID 1: {out}");
    assert_eq!(lines[1], "box");
    // ps lists its header, the shell and itself: nothing of the host.
    assert_eq!(lines.len(), 5, "{out}");

    // Docker's capability set, no_new_privs, masked and read-only /proc paths.
    let (_, out, _) = e.sh(&[], "grep -E 'CapEff|NoNewPrivs' /proc/self/status");
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(
        !std::fs::read_to_string("/proc/timer_list")
            .unwrap()
            .is_empty()
    );
    let (_, out, _) = e.sh(
        &[],
        "wc -c < /proc/timer_list; echo 1 > /proc/sys/kernel/domainname; echo $?",
    );
    assert_eq!(out.lines().next(), Some("0"), "timer_list is masked: {out}");
    assert_eq!(
        out.lines().last(),
        Some("1"),
        "/proc/sys is read-only: {out}"
    );

    // The seccomp profile refuses namespaces and mounts.
    let (_, out, err) = e.sh(
        &[],
        "unshare -n true; echo unshare=$?; mount -t tmpfs none /mnt; echo mount=$?",
    );
    assert!(out.contains("unshare=1"), "{out}{err}");
    assert!(
        out.contains("mount=1") || out.contains("mount=255"),
        "{out}{err}"
    );

    // The cgroup file systems are read-only: a container cannot raise its own limits.
    let (_, out, err) = e.sh(
        &["--pids-limit", "50"],
        "for f in /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max; do \
         [ -e $f ] && { echo 1000 > $f && echo writable; }; done; grep ' /sys/fs/cgroup' /proc/mounts",
    );
    assert!(!out.contains("writable"), "{out}{err}");
    assert!(err.contains("Read-only file system"), "{out}{err}");
    let mounts: Vec<&str> = out.lines().collect();
    assert!(!mounts.is_empty(), "{out}");
    assert!(mounts.iter().all(|m| m.contains(" ro,")), "{out}");

    // User, environment and working directory.
    let (_, out, _) = e.sh(
        &["-u", "nobody", "-e", "GREETING=hi", "-w", "/data"],
        "id -u; echo $GREETING; pwd",
    );
    assert_eq!(out, "65534\nhi\n/data\n");

    // Host mounts are invisible: every mount point is the container's own.
    let (_, out, _) = e.sh(&[], "cat /proc/mounts");
    let points: Vec<&str> = out.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    assert!(
        points.iter().all(|p| *p == "/"
            || ["/proc", "/dev", "/sys", "/etc/"]
                .iter()
                .any(|k| p.starts_with(k))),
        "{out}"
    );
}

#[test]
fn the_lifecycle_reads_like_docker() {
    let e = Loaded::new();
    let name = unique("ticker");
    let id = e
        .ok(&[
            "run",
            "-d",
            "--name",
            &name,
            &e.image,
            "sh",
            "-c",
            "i=0; while true; do echo tick $i; echo err $i >&2; i=$((i+1)); sleep 0.1; done",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    let ps = e.ok(&["ps"]);
    assert!(ps.contains(&id[..12]) && ps.contains("Up "), "{ps}");
    // Names, full ids and prefixes all work.
    assert_eq!(e.status(&id[..6]), "running");

    e.wait_for("logs", || e.ok(&["logs", &name]).lines().count() >= 3);
    // The last two lines, one of each stream, each on its own stream.
    let out = e.run(&["logs", "--tail", "2", &name]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(stdout.lines().count() + stderr.lines().count(), 2);
    assert!(
        stdout.starts_with("tick ") && stderr.starts_with("err "),
        "{stdout}|{stderr}"
    );

    let top = e.ok(&["top", &name]);
    assert!(top.contains("sh -c") && top.lines().count() >= 2, "{top}");

    e.ok(&["pause", &name]);
    assert!(e.ok(&["ps"]).contains("(Paused)"));
    let before = e.ok(&["logs", &name]).lines().count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(e.ok(&["logs", &name]).lines().count(), before, "frozen");
    e.ok(&["unpause", &name]);

    // A running container is not removed without -f.
    let out = e.run(&["rm", &name]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it first"));

    // The shell ignores SIGTERM as PID 1: stop kills it after the timeout.
    e.ok(&["stop", "-t", "1", &name]);
    assert_eq!(e.status(&name), "exited");
    assert_eq!(e.inspect(&name)["State"]["ExitCode"], 137);
    assert!(e.ok(&["ps", "-a"]).contains("Exited (137)"));

    e.ok(&["start", &name]);
    assert_eq!(e.status(&name), "running");
    let renamed = unique("renamed");
    e.ok(&["rename", &name, &renamed]);
    assert_eq!(e.inspect(&id)["Name"], format!("/{renamed}"));

    // A second container may not take the name; nothing is created.
    let count = e.ok(&["ps", "-a", "-q"]).lines().count();
    let out = e.run(&["create", "--name", &renamed, &e.image, "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in use"));
    assert_eq!(e.ok(&["ps", "-a", "-q"]).lines().count(), count);

    e.ok(&["rm", "-f", &renamed]);
    assert!(!e.ok(&["ps", "-a", "-q"]).contains(&id[..12]));

    // wait gives the exit code; a missing command is 127.
    let waited = e
        .ok(&["create", &e.image, "sh", "-c", "exit 7"])
        .trim()
        .to_string();
    e.ok(&["start", &waited]);
    assert_eq!(e.ok(&["wait", &waited]).trim(), "7");
    let out = e.run(&["run", "--rm", &e.image, "no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-command"));
    // Bad input is refused by name.
    let out = e.run(&["run", "--rm", "-m", "lots", &e.image, "true"]);
    assert_eq!(out.status.code(), Some(125));
    let out = e.run(&["run", "--rm", &e.image, "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    // `run --rm` returns with the container gone: its name is free at once, nothing of it is
    // listed, and its files go soon after.
    let name = unique("gone");
    for code in ["4", "5"] {
        let out = e.run(&[
            "run",
            "--rm",
            "--name",
            &name,
            &e.image,
            "sh",
            "-c",
            &format!("echo out; exit {code}"),
        ]);
        assert_eq!(out.status.code(), Some(code.parse().unwrap()), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
        assert!(!e.ok(&["ps", "-a"]).contains(&name));
        assert_eq!(e.run(&["inspect", &name]).status.code(), Some(1));
    }
    // Also when interactive.
    let mut child = e
        .command(&[
            "run",
            "--rm",
            "-i",
            "--name",
            &name,
            &e.image,
            "sh",
            "-c",
            "wc -l; exit 6",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a\nb\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    assert!(!e.ok(&["ps", "-a"]).contains(&name));
    // Removed containers' directories wait in tmp/ until their files are deleted.
    let leftovers = || std::fs::read_dir(e.root().join("tmp")).map_or(0, |d| d.count());
    let mut left = leftovers();
    for _ in 0..50 {
        if left == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = leftovers();
    }
    assert_eq!(left, 0, "files of removed containers are left behind");
}

/// What the test container does to the image's files: adds, changes and deletes, also
/// where the image's own layers deleted (a whiteout) or hid (an opaque directory).
const CHANGES_SCRIPT: &str = "echo mine > /data/new-file; rm /data/keep.txt; echo back > /data/gone.txt; echo seen > /opaque/old.txt; rm /opaque/fresh.txt";

/// `docker diff` of [`CHANGES_SCRIPT`].
const CHANGES: &str = "C /data\nA /data/gone.txt\nD /data/keep.txt\nA /data/new-file\nC /opaque\nD /opaque/fresh.txt\nA /opaque/old.txt\n";

/// Checks `diff` and `export` of a container that ran [`CHANGES_SCRIPT`].
fn check_diff_and_export(e: &Engine, name: &str) {
    assert_eq!(e.ok(&["diff", name]), CHANGES);
    // ps -s counts the three 5-byte files it wrote, and the image under them as "virtual".
    let sized = e.ok(&["ps", "-a", "-s", "--filter", &format!("name={name}")]);
    let size = sized
        .lines()
        .nth(1)
        .unwrap()
        .split_once(&format!("{name}   "));
    let size = size.map(|(_, s)| s.trim()).unwrap_or_default();
    assert!(
        size.starts_with("15B (virtual ") && size.ends_with("MB)"),
        "{sized}"
    );
    let tar = e.dir.path().join(format!("{name}.tar"));
    e.ok(&["export", "-o", tar.to_str().unwrap(), name]);
    let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    let mut files = std::collections::BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut text = String::new();
        if entry.header().entry_type().is_file() {
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap_or_default();
        }
        files.insert(path.trim_end_matches('/').to_string(), text);
    }
    assert_eq!(files["data/new-file"], "mine\n");
    assert_eq!(files["opaque/old.txt"], "seen\n");
    assert_eq!(files["etc/motd"], "built by the dockhand tests\n");
    assert!(files.contains_key("bin/busybox") && files.contains_key("bin/sh"));
    for gone in ["data/keep.txt", "opaque/fresh.txt"] {
        assert!(!files.contains_key(gone), "{gone} is in the export");
    }
    // An unknown container writes no file.
    let none = e.dir.path().join("none.tar");
    e.fails(
        &["export", "-o", none.to_str().unwrap(), "no-such-container"],
        125,
    );
    assert!(!none.exists());
}

#[test]
fn diff_and_export_show_what_the_container_did_on_both_drivers() {
    let e = Loaded::new();
    let name = unique("changes");
    e.ok(&["run", "--name", &name, &e.image, "sh", "-c", CHANGES_SCRIPT]);
    check_diff_and_export(&e, &name);
    // A created container has changed nothing.
    let fresh = unique("fresh");
    e.ok(&["create", "--name", &fresh, &e.image, "true"]);
    assert_eq!(e.ok(&["diff", &fresh]), "");

    // The same on copy snapshots (hosts without overlayfs).
    let copy = Engine::new();
    let config = copy.dir.path().join("config/dockhand");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[engine]\nstorage_driver = \"copy\"\n",
    )
    .unwrap();
    let archive = copy.write("busybox.tar", &images::busybox_archive(&e.image));
    copy.ok(&["load", "-i", archive.to_str().unwrap()]);
    copy.ok(&["run", "--name", &name, &e.image, "sh", "-c", CHANGES_SCRIPT]);
    let dir = copy
        .root()
        .join("containers")
        .join(copy.inspect(&name)["Id"].as_str().unwrap());
    assert!(dir.join("rootfs/bin/busybox").exists() && !dir.join("upper").exists());
    check_diff_and_export(&copy, &name);
}

#[test]
fn files_written_in_a_container_stay_in_it() {
    let e = Loaded::new();
    let a = unique("writer");
    e.ok(&[
        "run",
        "--name",
        &a,
        &e.image,
        "sh",
        "-c",
        "echo mine > /data/new-file; rm /data/keep.txt",
    ]);
    let upper = e
        .root()
        .join("containers")
        .join(e.inspect(&a)["Id"].as_str().unwrap())
        .join("upper");
    assert_eq!(
        std::fs::read_to_string(upper.join("data/new-file")).unwrap(),
        "mine\n"
    );
    // Another container of the same image sees the image as it is.
    let (_, out, _) = e.sh(&[], "ls /data");
    assert!(
        out.contains("keep.txt") && !out.contains("new-file"),
        "{out}"
    );
    // And the first one still sees its own changes when started again.
    e.ok(&["start", &a]);
    e.ok(&["wait", &a]);
    e.ok(&["rm", &a]);

    // A container removed when it ends has its root mounted without syncs; a kept one not.
    let root_options = "grep ' / / ' /proc/self/mountinfo";
    let (_, out, _) = e.sh(&[], root_options);
    assert!(out.contains("overlay") && out.contains("volatile"), "{out}");
    let kept = unique("kept");
    let out = e.ok(&["run", "--name", &kept, &e.image, "sh", "-c", root_options]);
    assert!(
        out.contains("overlay") && !out.contains("volatile"),
        "{out}"
    );
    e.ok(&["rm", &kept]);

    // A running container's root filesystem is mounted in its monitor's mount namespace
    // only: the host's mount table does not grow with containers, yet cp reaches the files.
    let b = unique("mounted");
    e.ok(&["run", "-d", "--name", &b, &e.image, "sleep", "60"]);
    let id = e.inspect(&b)["Id"].as_str().unwrap().to_string();
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!host.contains(&id), "the host's mount table lists {id}");
    let copied = e.dir.path().join("motd");
    e.ok(&["cp", &format!("{b}:/etc/motd"), copied.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&copied).unwrap(),
        "built by the dockhand tests\n"
    );
    e.ok(&["rm", "-f", &b]);
    // rm returns once the container is gone; its files follow in the background.
    assert!(
        e.ok(&["ps", "-a", "-q", "--filter", &format!("name={b}")])
            .is_empty()
    );
    assert!(!e.root().join("containers").join(&id).exists());
    e.wait_for("the removed container's files to be deleted", || {
        std::fs::read_dir(e.root().join("tmp"))
            .unwrap()
            .flatten()
            .all(|f| {
                !f.file_name()
                    .to_string_lossy()
                    .ends_with("removed-container")
            })
    });
    let (_, out, _) = e.sh(&[], "ls /data");
    assert!(out.contains("keep.txt"), "{out}");
}

#[test]
fn cgroup_limits_are_enforced() {
    let e = Loaded::new();
    let name = unique("oom");
    let out = e.run(&[
        "run",
        "--name",
        &name,
        "-m",
        "8m",
        &e.image,
        "sh",
        "-c",
        "x=a; while true; do x=$x$x; done",
    ]);
    assert_eq!(out.status.code(), Some(137));
    let state = &e.inspect(&name)["State"];
    assert_eq!(state["OOMKilled"], true, "{state}");
    assert_eq!(e.inspect(&name)["HostConfig"]["Memory"], 8 << 20);

    let (code, _, err) = e.sh(
        &["--pids-limit", "5"],
        "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait",
    );
    assert_ne!(code, 0);
    assert!(err.contains("can't fork"), "{err}");

    let (code, out, _) = e.sh(
        &["--cpus", "0.5"],
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max",
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("50000"), "{out}");
}

#[test]
fn restart_policies_restart_with_back_off_and_stop_when_told() {
    let e = Loaded::new();
    let name = unique("flaky");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--restart",
        "on-failure:2",
        &e.image,
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    e.wait_for("two restarts then the end", || {
        let s = e.inspect(&name);
        s["RestartCount"] == 2 && s["State"]["Status"] == "exited"
    });
    assert_eq!(e.ok(&["logs", &name]).matches("run").count(), 3);

    let always = unique("always");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &always,
        "--restart",
        "always",
        &e.image,
        "sh",
        "-c",
        "exit 0",
    ]);
    e.wait_for("a restart", || {
        e.inspect(&always)["RestartCount"].as_u64() >= Some(2)
    });
    e.ok(&["stop", &always]);
    let count = e.inspect(&always)["RestartCount"].clone();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        e.inspect(&always)["RestartCount"],
        count,
        "stopped means stopped"
    );
    assert_eq!(e.status(&always), "exited");
}

#[test]
fn logs_follow_until_the_container_ends() {
    let e = Loaded::new();
    let name = unique("talker");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        &e.image,
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done",
    ]);
    let out = e.ok(&["logs", "-f", "-t", &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[4].ends_with("line 5"), "{out}");
    assert!(lines[0].starts_with("20"), "timestamps: {out}");
}

#[test]
fn exec_joins_a_running_container() {
    let e = Loaded::new();
    let name = unique("host");
    e.ok(&["run", "-d", "--name", &name, &e.image, "sleep", "600"]);
    // The exec'd process is in the container: its pid namespace, its hostname, its files.
    let out = e.ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo $$; hostname; cat /etc/hostname",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_ne!(lines[0], "1");
    assert_eq!(lines[1], &e.inspect(&name)["Config"]["Hostname"]);
    assert_eq!(
        e.run(&["exec", &name, "sh", "-c", "exit 9"]).status.code(),
        Some(9)
    );
    let out = e.run(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/data",
        "-u",
        "nobody",
        &name,
        "sh",
        "-c",
        "echo $X; pwd; id -u",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n/data\n65534\n");
    let out = e.run(&["exec", &name, "no-such-binary"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-binary"));
    // Standard input reaches the process with -i.
    let mut child = e
        .command(&["exec", "-i", &name, "sh", "-c", "wc -l"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a\nb\nc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
    // A stopped container cannot be exec'd into.
    e.ok(&["kill", &name]);
    let out = e.run(&["exec", &name, "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running"));
}

/// A cgroup made for one test on the unified hierarchy, removed when dropped (after the
/// container in it is gone).
struct TestCgroup(std::path::PathBuf);

impl TestCgroup {
    /// A new cgroup on the unified hierarchy mounted here; the test fails without one, as
    /// every host it runs on (v2 or hybrid) has one.
    fn new() -> TestCgroup {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let point = info
            .lines()
            .find_map(|l| {
                let (before, after) = l.split_once(" - ")?;
                after
                    .starts_with("cgroup2 ")
                    .then(|| before.split(' ').nth(4).unwrap().to_string())
            })
            .expect("no cgroup2 mount here: this test needs a v2 or hybrid cgroup host");
        let dir = std::path::Path::new(&point).join(unique("dh-exec-test"));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot make the test cgroup {}: {e}", dir.display()));
        TestCgroup(dir)
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // A test that failed may leave its container's init in here.
        let _ = std::fs::write(self.0.join("cgroup.kill"), "1");
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn exec_has_the_containers_cgroups_and_privileges() {
    let e = Loaded::new();
    // What the init and the exec'd process show of their cgroups and privileges, compared.
    let compare = |name: &str| {
        let script = "for p in 1 self; do cat /proc/$p/cgroup; \
            grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/$p/status; echo --; done";
        let out = e.ok(&["exec", name, "sh", "-c", script]);
        let (init, own) = out.split_once("--\n").unwrap();
        assert_eq!(init, own.trim_end_matches("--\n"), "{out}");
        assert!(init.contains("NoNewPrivs"), "{out}");
        out
    };
    for flags in [&[][..], &["--privileged"][..], &["--cap-drop", "ALL"][..]] {
        let name = unique("tenant");
        let mut args = vec!["run", "-d", "--name", &name];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&e.image, "sleep", "600"]);
        e.ok(&args);
        compare(&name);
        // No supplementary groups of the caller's, and the seccomp profile holds.
        let groups = e.ok(&["exec", &name, "grep", "^Groups:", "/proc/self/status"]);
        assert_eq!(groups.split_whitespace().count(), 1, "{groups}");
        let unshare = e.run(&["exec", &name, "unshare", "-n", "true"]);
        assert_eq!(unshare.status.success(), flags == ["--privileged"]);
        e.ok(&["rm", "-f", &name]);
    }
    // The unified hierarchy is joined too (on a v2 or hybrid host): with the init moved into
    // a cgroup of its own, the exec'd process is born there.
    let cgroup = TestCgroup::new();
    let name = unique("tenant");
    e.ok(&["run", "-d", "--name", &name, &e.image, "sleep", "600"]);
    let pid = e.inspect(&name)["State"]["Pid"].as_i64().unwrap();
    let before = compare(&name);
    std::fs::write(cgroup.0.join("cgroup.procs"), pid.to_string()).unwrap();
    let after = compare(&name);
    let unified = |out: &str| out.lines().find(|l| l.starts_with("0::")).map(String::from);
    assert_ne!(unified(&before), unified(&after), "{before}{after}");
    e.ok(&["rm", "-f", &name]);
    drop(cgroup);
}

#[test]
fn containers_run_on_a_pure_cgroup_v2_host() {
    // Every command in a mount namespace whose /sys/fs/cgroup is the unified hierarchy alone:
    // libcontainer's v2 manager, the v2 freezer and stats, and exec born in the cgroup.
    let engine = Engine::unified_view()
        .expect("no cgroup2 mount here: this test needs a v2 or hybrid cgroup host");
    let e = Loaded::on(engine);
    let (code, out, err) = e.sh(&[], "cat /proc/self/cgroup; echo $$");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.lines().any(|l| l == "0::/"), "{out}");
    let name = unique("v2");
    let id = e.ok(&["run", "-d", "--name", &name, &e.image, "sleep", "600"]);
    let cgroup = format!("/sys/fs/cgroup/unified/dockhand/{}", id.trim());
    let on_host = std::path::Path::new("/sys/fs/cgroup/unified").exists();
    if on_host {
        assert!(std::path::Path::new(&cgroup).is_dir(), "{cgroup}");
    }
    // The exec'd process is born in the init's cgroup.
    let out = e.ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        "cat /proc/1/cgroup; echo --; cat /proc/self/cgroup",
    ]);
    let (init, own) = out.split_once("--\n").unwrap();
    assert_eq!(init, own, "{out}");
    assert!(e.ok(&["stats", "--no-stream", &name]).contains(&name));
    assert!(e.ok(&["top", &name]).contains("sleep 600"));
    e.ok(&["pause", &name]);
    assert!(e.ok(&["ps"]).contains("(Paused)"));
    e.ok(&["unpause", &name]);
    assert_eq!(e.status(&name), "running");
    // A limit applies where the unified hierarchy has the controller; where it has not (the
    // controllers of a hybrid host are on v1), the refusal names it.
    let controllers = std::fs::read_to_string(if on_host {
        "/sys/fs/cgroup/unified/cgroup.controllers"
    } else {
        "/sys/fs/cgroup/cgroup.controllers"
    })
    .unwrap_or_default();
    let out = e.run(&[
        "run",
        "--rm",
        "--pids-limit",
        "5",
        &e.image,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/pids.max",
    ]);
    if controllers.split_whitespace().any(|c| c == "pids") {
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5", "{out:?}");
    } else {
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the pids cgroup controller is not available"),
            "{err}"
        );
    }
    e.ok(&["rm", "-f", &name]);
    if on_host {
        assert!(!std::path::Path::new(&cgroup).exists(), "{cgroup} is left");
    }
}

#[test]
fn privileges_capabilities_read_only_and_env_files() {
    let e = Loaded::new();
    let caps = |flags: &[&str]| {
        let (_, out, err) = e.sh(flags, "grep CapEff /proc/self/status");
        let hex = out
            .trim()
            .rsplit('\t')
            .next()
            .unwrap_or_default()
            .to_string();
        u64::from_str_radix(&hex, 16).unwrap_or_else(|_| panic!("{out}{err}"))
    };
    let default = caps(&[]);
    assert_eq!(default, 0xa80425fb);
    const NET_ADMIN: u64 = 1 << 12;
    const CHOWN: u64 = 1 << 0;
    assert_eq!(caps(&["--cap-add", "NET_ADMIN"]), default | NET_ADMIN);
    assert_eq!(caps(&["--cap-drop", "chown"]), default & !CHOWN);
    assert!(caps(&["--privileged"]).count_ones() >= 38);
    // Privileged containers may mount; others may not.
    let (code, _, _) = e.sh(&["--privileged"], "mount -t tmpfs none /tmp");
    assert_eq!(code, 0);
    let out = e.run(&["run", "--rm", "--cap-add", "BOGUS", &e.image, "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BOGUS"));

    // The cgroup file systems are read-only inside, as Docker mounts them: a container
    // cannot lift its own limits. Privileged containers may write them.
    let (code, out, err) = e.sh(&[], "grep ' /sys/fs/cgroup' /proc/mounts");
    assert_eq!(code, 0, "{err}");
    for line in out.lines() {
        assert!(line.contains(" ro,"), "writable cgroup mount: {line}");
    }
    let (_, out, _) = e.sh(&["--privileged"], "grep ' /sys/fs/cgroup' /proc/mounts");
    assert!(out.lines().any(|l| l.contains(" rw,")), "{out}");

    let (code, _, err) = e.sh(&["--read-only"], "touch /data/x");
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("Read-only"), "{err}");
    let (code, _, _) = e.sh(
        &["--read-only", "--mount", "type=tmpfs,target=/scratch"],
        "touch /scratch/x",
    );
    assert_eq!(code, 0);

    let file = e.dir.path().join("app.env");
    std::fs::write(&file, "# settings\nGREETING=hello\n\nMODE=test\n").unwrap();
    let (_, out, _) = e.sh(
        &["--env-file", file.to_str().unwrap()],
        "echo $GREETING-$MODE",
    );
    assert_eq!(out, "hello-test\n");
    std::fs::write(&file, "=broken\n").unwrap();
    let out = e.run(&[
        "run",
        "--rm",
        "--env-file",
        file.to_str().unwrap(),
        &e.image,
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("app.env:1"));
}

#[test]
fn stats_come_from_the_cgroup() {
    let e = Loaded::new();
    let name = unique("spinner");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--cpus",
        "0.5",
        "-m",
        "64m",
        &e.image,
        "sh",
        "-c",
        "while true; do :; done",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let out = e.ok(&["stats", "--no-stream", &name]);
    let row = out.lines().nth(1).unwrap_or_else(|| panic!("{out}"));
    let cpu: f64 = row
        .split_whitespace()
        .find(|c| c.ends_with('%'))
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(
        (5.0..=75.0).contains(&cpu),
        "busy, and held to half a CPU: {row}"
    );
    assert!(row.contains("/ 64MiB"), "{row}");
    assert!(row.trim_end().ends_with(" 1"), "one process: {row}");

    // The backend's samples say what the charts measure against: the cgroup's quota.
    use dockhand::backend::prelude::*;
    use futures::StreamExt;
    let backend = e.backend();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sample = runtime.block_on(async {
        let mut samples = backend.container_stats(&name).await.unwrap();
        samples.next().await.unwrap().unwrap()
    });
    assert_eq!(sample.cpu_limit, Some(0.5), "{sample:?}");
    assert!(sample.host_cpus >= 1, "{sample:?}");
    assert!(
        (10.0..=100.0).contains(&sample.cpu_of_available()),
        "busy: most of its half CPU: {sample:?}"
    );
    assert_eq!(sample.memory_limit, 64 << 20);

    // The list's columns: the full sample first, then CPU and memory every two seconds,
    // keeping the limits; the stream ends when the container stops.
    let (second, ended) = runtime.block_on(async {
        let mut usage = backend.container_usage(&name).await.unwrap();
        let first = usage.next().await.unwrap().unwrap();
        assert_eq!(first.cpu_limit, Some(0.5), "{first:?}");
        let second = usage.next().await.unwrap().unwrap();
        e.ok(&["kill", &name]);
        let ended = tokio::time::timeout(Duration::from_secs(10), usage.next()).await;
        (second, ended)
    });
    assert_eq!(second.cpu_limit, Some(0.5), "{second:?}");
    assert!(second.memory_usage > 0, "{second:?}");
    assert!(
        (10.0..=100.0).contains(&second.cpu_of_available()),
        "busy over the two seconds: {second:?}"
    );
    assert!(
        matches!(ended, Ok(None)),
        "the stream ends with the container"
    );
}

#[test]
fn system_boot_starts_what_the_policies_ask_for() {
    let e = Loaded::new();
    let names: Vec<String> = ["always", "unless", "stopped", "failure", "no"]
        .iter()
        .map(|n| unique(n))
        .collect();
    let policies = [
        "always",
        "unless-stopped",
        "unless-stopped",
        "on-failure",
        "no",
    ];
    for (name, policy) in names.iter().zip(policies) {
        e.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--restart",
            policy,
            &e.image,
            "sleep",
            "600",
        ]);
    }
    e.ok(&["stop", "-t", "0", &names[2]]);
    // A crash of everything: monitors and containers killed, as a power cut would. No
    // command runs until `system boot` (any command would find the lost monitors and apply
    // the policies itself).
    let ids: Vec<String> = names
        .iter()
        .map(|n| e.inspect(n)["Id"].as_str().unwrap().to_string())
        .collect();
    let mut killed = Vec::new();
    for id in &ids {
        let state: serde_json::Value = serde_json::from_slice(
            &std::fs::read(e.root().join("containers").join(id).join("state.json")).unwrap(),
        )
        .unwrap();
        for key in ["monitor_pid", "pid"] {
            if let Some(pid) = state[key].as_i64() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                killed.push(pid);
            }
        }
    }
    e.wait_for("everything down", || {
        killed.iter().all(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .map_or(true, |s| s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
        })
    });
    let started = e.ok(&["system", "boot"]);
    let mut got: Vec<&str> = started.lines().collect();
    got.sort();
    let mut want = vec![names[0].as_str(), names[1].as_str(), names[3].as_str()];
    want.sort();
    assert_eq!(got, want);
    for (i, name) in names.iter().enumerate() {
        let running = e.status(name) == "running";
        assert_eq!(running, [0, 1, 3].contains(&i), "{name}");
    }
    // Running it again starts nothing more.
    assert_eq!(e.ok(&["system", "boot"]), "");
}

#[test]
fn images_in_use_are_kept() {
    let e = Loaded::new();
    let name = unique("user");
    e.ok(&["create", "--name", &name, &e.image, "true"]);
    let out = e.run(&["rmi", &e.image]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is using it"));
    assert!(
        e.ok(&["image", "prune", "-a", "-f"])
            .contains("Total reclaimed space: 0B")
    );
    let df = e.ok(&["system", "df"]);
    assert!(df.contains("Images          1         1"), "{df}");
    // Forced: the name goes, the image stays for the container, which still runs.
    assert!(e.ok(&["rmi", "-f", &e.image]).contains("Untagged: "));
    assert_eq!(e.ok(&["images", "-q"]).lines().count(), 1);
    e.ok(&["start", &name]);
    assert_eq!(e.ok(&["wait", &name]).trim(), "0");
    e.ok(&["rm", &name]);
    e.ok(&["image", "prune", "-f"]);
    assert_eq!(e.ok(&["images", "-q"]), "");
}

#[test]
fn cp_stays_inside_the_container() {
    let e = Loaded::new();
    let name = unique("files");
    e.ok(&["run", "-d", "--name", &name, &e.image, "sleep", "600"]);
    // A link in the container pointing at /etc means the container's /etc, not the host's.
    e.ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        "ln -s /etc /tmp/escape; mkdir /tmp/dir; echo deep > /tmp/dir/f",
    ]);
    let src = e.write("hello.txt", b"hello\n");
    let host_marker = std::path::Path::new("/etc").join(format!("{}.txt", unique("cp")));
    let src_named = e.write(host_marker.file_name().unwrap().to_str().unwrap(), b"x\n");
    e.ok(&["cp", src.to_str().unwrap(), &format!("{name}:/tmp/")]);
    e.ok(&[
        "cp",
        src_named.to_str().unwrap(),
        &format!("{name}:/tmp/escape/"),
    ]);
    assert!(!host_marker.exists(), "nothing written to the host's /etc");
    let listed = e.ok(&["exec", &name, "ls", "/etc"]);
    assert!(
        listed.contains(host_marker.file_name().unwrap().to_str().unwrap()),
        "{listed}"
    );
    assert_eq!(e.ok(&["exec", &name, "cat", "/tmp/hello.txt"]), "hello\n");

    // Out again: a file, a directory, and a file read through the link.
    let out = e.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    e.ok(&["cp", &format!("{name}:/tmp/dir"), out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(out.join("dir/f")).unwrap(),
        "deep\n"
    );
    e.ok(&[
        "cp",
        &format!("{name}:/tmp/escape/motd"),
        out.join("motd").to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("motd")).unwrap(),
        "built by the dockhand tests\n"
    );
    // A stopped container's files are there too; missing paths are named.
    e.ok(&["stop", "-t", "0", &name]);
    e.ok(&[
        "cp",
        &format!("{name}:/tmp/hello.txt"),
        out.join("again").to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("again")).unwrap(),
        "hello\n"
    );
    let out2 = e.run(&["cp", &format!("{name}:/nope"), out.to_str().unwrap()]);
    assert_eq!(out2.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out2.stderr).contains("/nope"));
}

#[test]
fn kill_takes_signals_as_docker_spells_them_and_the_state_decides() {
    let e = Loaded::new();
    let name = unique("sig");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        &e.image,
        "sh",
        "-c",
        "trap 'echo got-usr1' USR1; trap 'exit 3' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    e.wait_for("the trap is set", || {
        e.ok(&["logs", &name]).contains("ready")
    });
    // Standard signals pending together merge: each is sent once the last was handled.
    for (n, spelling) in ["usr1", "SIGUSR1", "sigusr1", "10"].iter().enumerate() {
        e.ok(&["kill", "-s", spelling, &name]);
        e.wait_for(&format!("USR1 as {spelling} handled"), || {
            e.ok(&["logs", &name]).matches("got-usr1").count() == n + 1
        });
    }
    // An unknown name is refused and changes nothing.
    let err = e.fails(&["kill", "-s", "SIGNOPE", &name], 1);
    assert!(err.contains("invalid signal \"SIGNOPE\""), "{err}");
    assert_eq!(e.status(&name), "running");
    // One wording per refusal, from the state machine.
    let err = e.fails(&["unpause", &name], 1);
    assert!(
        err.contains(&format!("container {name} is not paused")),
        "{err}"
    );
    e.ok(&["pause", &name]);
    let err = e.fails(&["pause", &name], 1);
    assert!(
        err.contains(&format!("container {name} is already paused")),
        "{err}"
    );
    let err = e.fails(&["exec", &name, "true"], 125);
    assert!(err.contains("is paused; unpause it first"), "{err}");
    let err = e.fails(&["rm", &name], 1);
    assert!(
        err.contains(&format!("you cannot remove a paused container {name}")),
        "{err}"
    );
    e.ok(&["unpause", &name]);
    e.ok(&["kill", "-s", "sigterm", &name]);
    e.wait_for("SIGTERM ended it", || e.status(&name) == "exited");
    assert_eq!(e.inspect(&name)["State"]["ExitCode"], 3);
    let err = e.fails(&["kill", &name], 1);
    assert!(
        err.contains(&format!("container {name} is not running")),
        "{err}"
    );
    e.ok(&["rm", &name]);
}

/// A static helper that calls add_key(2) on the process keyring and says how it went.
fn add_key_helper(e: &Engine) -> std::path::PathBuf {
    let src = e.write(
        "add_key.c",
        br#"#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    long r = syscall(SYS_add_key, "user", "dh-test", "x", 1, -2);
    if (r < 0) { printf("add_key: %s\n", strerror(errno)); return 1; }
    printf("add_key: ok\n");
    return 0;
}
"#,
    );
    let bin = e.dir.path().join("add_key");
    let out = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc (Debian gcc and libc6-dev; scripts/test.sh installs them)");
    assert!(
        out.status.success(),
        "the static helper does not build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

#[test]
fn seccomp_alone_refuses_kernel_keys_and_unconfined_lifts_it() {
    let e = Loaded::new();
    let bin = add_key_helper(&e);
    let mount = format!("{}:/add_key:ro", bin.display());
    let add_key = |flags: &[&str]| {
        let mut all = vec!["--network", "none", "-v", &mount];
        all.extend_from_slice(flags);
        e.sh(&all, "/add_key; grep ^Seccomp: /proc/self/status")
    };
    // CAP_SYS_ADMIN does not help: the filter refuses it, not a missing capability.
    for flags in [&[][..], &["--cap-add", "SYS_ADMIN"][..]] {
        let (code, out, err) = add_key(flags);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("add_key: Operation not permitted"),
            "{flags:?}: {out}"
        );
        assert!(out.contains("Seccomp:\t2"), "{out}");
    }
    for flags in [
        &["--security-opt", "seccomp=unconfined"][..],
        &[
            "--security-opt",
            "seccomp=unconfined",
            "--cap-add",
            "SYS_ADMIN",
        ][..],
    ] {
        let (code, out, err) = add_key(flags);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("add_key: ok"), "{flags:?}: {out}");
        assert!(out.contains("Seccomp:\t0"), "{out}");
    }
    // A profile in Docker's format: everything allowed but add_key, refused with ENOSYS.
    let profile = e.write(
        "profile.json",
        br#"{"defaultAction": "SCMP_ACT_ALLOW",
             "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
             "syscalls": [{"names": ["add_key"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}"#,
    );
    let opt = format!("seccomp={}", profile.display());
    let (_, out, err) = add_key(&["--security-opt", &opt]);
    assert!(
        out.contains("add_key: Function not implemented"),
        "{out}{err}"
    );
    // Inspect says what was asked for.
    let name = unique("unconfined");
    e.ok(&[
        "create",
        "--name",
        &name,
        "--security-opt",
        "seccomp=unconfined",
        &e.image,
        "true",
    ]);
    assert_eq!(
        e.inspect(&name)["HostConfig"]["SecurityOpt"],
        serde_json::json!(["seccomp=unconfined"])
    );
    e.ok(&["rm", &name]);
    // Bad values are refused by name, creating nothing.
    for bad in [
        "apparmor=unconfined",
        "seccomp=/nonexistent.json",
        "seccomp={not json",
    ] {
        let err = e.fails(&["create", "--security-opt", bad, &e.image, "true"], 125);
        assert!(
            err.contains("--security-opt") || err.contains("seccomp"),
            "{bad}: {err}"
        );
    }
    assert_eq!(e.ok(&["ps", "-aq"]).trim(), "");
}
