//! The binary on the embedded engine (no -H), as root with a temporary data root: load,
//! images, history, inspect, tag, rmi, save, import, prune, system df and check, pull and push
//! through a registry on loopback with login, and a pull killed half-way leaving a root that
//! checks clean.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::engine::Engine;
use common::images;
use common::registry::Registry;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn image_commands_run_on_the_engine() {
    let e = Engine::new();
    let archive = e.write("busybox.tar", &images::busybox_archive("busybox:1"));
    assert_eq!(
        e.ok(&["load", "-i", s(&archive)]),
        "Loaded image: busybox:1\n"
    );
    let listed = e.ok(&["images"]);
    assert!(listed.starts_with("REPOSITORY"), "{listed}");
    assert!(
        listed.contains("busybox ") && listed.contains(" 1 "),
        "{listed}"
    );
    let id = e.ok(&["images", "-q"]).trim().to_string();
    assert_eq!(id.len(), 12);

    let history = e.ok(&["history", "busybox:1"]);
    assert!(history.contains("whiteout and opaque dir"), "{history}");
    assert_eq!(history.lines().count(), 4, "{history}");

    let inspect: serde_json::Value =
        serde_json::from_str(&e.ok(&["image", "inspect", "busybox:1"])).unwrap();
    assert_eq!(inspect[0]["Config"]["Cmd"][0], "sh");
    assert_eq!(inspect[0]["RootFS"]["Layers"].as_array().unwrap().len(), 3);
    assert!(inspect[0]["Id"].as_str().unwrap().contains(&id));
    // Plain `inspect` finds images too.
    assert!(e.ok(&["inspect", &id]).contains("RootFS"));

    // Two names: rmi of one only untags; rmi of the id needs -f.
    e.ok(&["tag", "busybox:1", "localhost:5000/team/busybox:2"]);
    let err = e.fails(&["rmi", &id], 1);
    assert!(err.contains("must be forced"), "{err}");
    assert_eq!(e.ok(&["rmi", "busybox:1"]), "Untagged: busybox:1\n");
    let listed = e.ok(&["images"]);
    assert!(listed.contains("localhost:5000/team/busybox"), "{listed}");

    // save -> rmi -> load gives it back.
    let saved = e.dir.path().join("saved.tar");
    e.ok(&["save", "-o", s(&saved), "localhost:5000/team/busybox:2"]);
    let removed = e.ok(&["rmi", "localhost:5000/team/busybox:2"]);
    assert!(removed.contains("Deleted: sha256:"), "{removed}");
    assert_eq!(e.ok(&["images", "-q"]), "");
    assert_eq!(
        e.ok(&["load", "-i", s(&saved)]),
        "Loaded image: localhost:5000/team/busybox:2\n"
    );
    assert_eq!(e.ok(&["images", "-q"]).trim(), id);

    // import with changes.
    let rootfs = e.write("rootfs.tar", &images::busybox_rootfs());
    let imported = e.ok(&[
        "import",
        "-c",
        "CMD [\"sh\", \"-c\", \"echo hi\"]",
        "-c",
        "ENV GREETING=hello",
        "-c",
        "WORKDIR /data",
        s(&rootfs),
        "imported:v1",
    ]);
    assert!(imported.starts_with("sha256:"), "{imported}");
    let inspect: serde_json::Value =
        serde_json::from_str(&e.ok(&["image", "inspect", "imported:v1"])).unwrap();
    assert_eq!(inspect[0]["Config"]["Env"][0], "GREETING=hello");
    assert_eq!(inspect[0]["Config"]["WorkingDir"], "/data");
    let err = e.fails(&["import", "-c", "RUN make", s(&rootfs)], 125);
    assert!(err.contains("RUN"), "{err}");

    // Bad input is refused by name and changes nothing.
    let err = e.fails(&["tag", "imported:v1", "Bad/Name"], 125);
    assert!(err.contains("lowercase"), "{err}");
    let err = e.fails(&["rmi", "nothing:here"], 1);
    assert!(err.contains("no such image: nothing:here"), "{err}");
    let garbage = e.write("garbage.tar", b"not a tarball");
    let err = e.fails(&["load", "-i", s(&garbage)], 125);
    assert!(err.contains("docker save"), "{err}");
    assert_eq!(e.ok(&["images", "-q"]).lines().count(), 2);

    // system df counts the base layer the two images share once.
    let df = e.ok(&["system", "df"]);
    assert!(df.contains("Images          2"), "{df}");
    assert!(df.contains("Layers: 3 stored once each; 1 shared"), "{df}");
    assert!(e.ok(&["system", "check"]).contains("No problems found."));

    // prune -a removes both and everything they used.
    let pruned = e.ok(&["image", "prune", "-a", "-f"]);
    assert!(pruned.contains("Total reclaimed space"), "{pruned}");
    assert_eq!(e.ok(&["images", "-q"]), "");
    assert_eq!(
        std::fs::read_dir(e.root().join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );

    // What the engine has no part for says so, and what to use.
    let err = e.fails(&["network", "connect", "host", "somebox"], 125);
    assert!(err.contains("somebox"), "{err}");
    assert_eq!(e.ok(&["volume", "ls", "-q"]), "");
    let networks = e.ok(&["network", "ls"]);
    assert!(
        networks.contains("host") && networks.contains("none"),
        "{networks}"
    );

    // Without root the engine says what it needs and what else there is.
    let out = {
        use std::os::unix::process::CommandExt;
        let mut c = e.command(&["ps"]);
        c.uid(65534).gid(65534);
        c.output().unwrap()
    };
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs root") && err.contains("-H docker"),
        "{err}"
    );
}

#[test]
fn system_check_finds_and_repairs_damage() {
    let e = Engine::new();
    let archive = e.write("busybox.tar", &images::busybox_archive("busybox:chk"));
    e.ok(&["load", "-i", s(&archive)]);
    // Corrupt one layer blob and remove a short link.
    let blobs = e.root().join("blobs/sha256");
    let inspect: serde_json::Value =
        serde_json::from_str(&e.ok(&["image", "inspect", "busybox:chk"])).unwrap();
    let id = inspect[0]["Id"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let victim = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.ends_with(&id))
        .unwrap();
    std::fs::write(&victim, b"bit rot").unwrap();
    let link = std::fs::read_dir(e.root().join("layers/l"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&link).unwrap();
    // And a short link to no layer, as a store killed before its rename leaves.
    let dangling = e.root().join("layers/l/DANGLINGLINK0000000000000");
    std::os::unix::fs::symlink("../0000/diff", &dangling).unwrap();

    let out = e.run(&["system", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("does not hash to its name"), "{text}");
    assert!(text.contains("has no short link"), "{text}");
    assert!(
        text.contains("short link l/DANGLINGLINK0000000000000 points at no layer"),
        "{text}"
    );
    assert!(text.contains("lacks layer blob"), "{text}");
    assert!(text.contains("--repair"), "{text}");

    let repaired = e.ok(&["system", "check", "--repair"]);
    assert!(repaired.contains("repaired: "), "{repaired}");
    assert!(!repaired.contains("problem: "), "{repaired}");
    assert!(
        dangling.symlink_metadata().is_err(),
        "the dangling link is gone"
    );
    let clean = e.ok(&["system", "check"]);
    assert!(!clean.contains("problem: "), "{clean}");
    // The broken image is gone; loading it again makes it whole.
    assert_eq!(e.ok(&["images", "-q"]), "");
    e.ok(&["load", "-i", s(&archive)]);
    assert!(e.ok(&["system", "check"]).contains("No problems found."));
}

#[test]
fn pull_and_push_through_a_registry_with_login() {
    let registry = Registry::start(Some(("ci", "pa55")));
    registry.push_archive(&images::busybox_archive("busybox:reg"), "busybox:reg", &[]);
    let e = Engine::new();
    let reference = format!("{}/busybox:reg", registry.host);

    let err = e.fails(&["pull", &reference], 125);
    assert!(err.contains("dockhand login"), "{err}");

    let mut login = e.command(&["login", "-u", "ci", "--password-stdin", &registry.host]);
    login
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = login.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"pa55\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Login Succeeded"));

    let pulled = e.ok(&["pull", &reference]);
    assert!(
        pulled.contains("Status: Downloaded newer image"),
        "{pulled}"
    );
    assert!(
        pulled.contains(&format!("Digest: {}", registry.digest("busybox:reg"))),
        "{pulled}"
    );
    let again = e.ok(&["pull", &reference]);
    assert!(again.contains("Image is up to date"), "{again}");

    let target = format!("{}/copies/busybox:pushed", registry.host);
    e.ok(&["tag", &reference, &target]);
    let pushed = e.ok(&["push", &target]);
    assert!(pushed.contains("digest: sha256:"), "{pushed}");
    assert!(pushed.contains(": Pushed"), "{pushed}");
    let again = e.ok(&["push", &target]);
    assert!(!again.contains(": Pushed"), "{again}");
    assert!(again.contains("Layer already exists"), "{again}");
    assert!(
        registry
            .digest("copies/busybox:pushed")
            .starts_with("sha256:")
    );

    e.ok(&["logout", &registry.host]);
    let err = e.fails(&["push", &target], 125);
    assert!(err.contains("denied"), "{err}");
}

/// A layer of incompressible bytes, so that a pull takes long enough to be interrupted.
fn big_layer(name: &str, mb: usize) -> Vec<u8> {
    let mut data = vec![0u8; mb << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ name.len() as u64;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    images::layer(&[images::Entry::File(name, &data, 0o644)])
}

#[test]
fn a_pull_killed_half_way_leaves_a_root_that_checks_clean_and_resumes() {
    let registry = Registry::start(None);
    let layers = vec![
        images::base_layer(),
        big_layer("big1.bin", 48),
        big_layer("big2.bin", 48),
    ];
    let archive = images::archive_of(&layers, "big:1");
    registry.push_archive(&archive, "big:1", &[]);
    let e = Engine::new();
    let reference = format!("{}/big:1", registry.host);

    let mut child = e
        .command(&["pull", &reference])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it in the middle of a big layer.
    let start = Instant::now();
    loop {
        let busy = std::fs::read_dir(e.root().join("tmp"))
            .map(|d| {
                d.flatten()
                    .any(|f| f.metadata().is_ok_and(|m| m.len() > 8 << 20))
            })
            .unwrap_or(false);
        if busy || start.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let check = e.ok(&["system", "check"]);
    assert!(!check.contains("problem: "), "{check}");
    assert!(
        check.contains("unused: "),
        "the finished blobs are kept: {check}"
    );
    assert_eq!(e.ok(&["images", "-q"]), "", "nothing looks complete");
    let tmp_left = std::fs::read_dir(e.root().join("tmp")).unwrap().count();
    assert_eq!(tmp_left, 0, "the next run cleared the dead pull's files");

    let pulled = e.ok(&["pull", &reference]);
    assert!(
        pulled.contains("Status: Downloaded newer image"),
        "{pulled}"
    );
    assert_eq!(e.ok(&["images", "-q"]).lines().count(), 1);
    assert!(e.ok(&["system", "check"]).contains("No problems found."));
}

#[test]
fn concurrent_processes_on_one_root_keep_it_consistent() {
    let e = Engine::new();
    let archives: Vec<PathBuf> = (0..4)
        .map(|i| {
            e.write(
                &format!("a{i}.tar"),
                &images::busybox_archive(&format!("busybox:c{i}")),
            )
        })
        .collect();
    // Four loads of images sharing every layer, and removals racing with them.
    let mut children: Vec<_> = archives
        .iter()
        .map(|a| {
            e.command(&["load", "-q", "-i", s(a)])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.push(
        e.command(&["image", "prune", "-a", "-f"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let check = e.ok(&["system", "check"]);
    assert!(!check.contains("problem: "), "{check}");
    // Whatever the prune took, loading again gives four whole images on three shared layers.
    for a in &archives {
        e.ok(&["load", "-i", s(a)]);
    }
    assert_eq!(e.ok(&["images", "-q"]).lines().count(), 4);
    let df = e.ok(&["system", "df"]);
    assert!(df.contains("Layers: 3 stored"), "{df}");
    assert!(e.ok(&["system", "check"]).contains("No problems found."));
}

#[test]
fn format_templates_and_filters_follow_docker() {
    let (e, image) = Engine::with_busybox();
    let (box_, vol, net) = (
        common::unique("fmtbox"),
        common::unique("fmtvol"),
        common::unique("fmtnet"),
    );
    e.ok(&["volume", "create", &vol]);
    e.ok(&["network", "create", "--subnet", "10.231.56.0/24", &net]);
    e.ok(&[
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
    ]);
    common::format::check(
        |args| e.ok(args),
        &common::format::Objects {
            container: &box_,
            image: &image,
            volume: &vol,
            network: &net,
        },
    );
    let err = e.fails(&["ps", "--format", "{{.Names"], 125);
    assert!(err.contains("--format"), "{err}");
    let err = e.fails(&["ps", "-f", "name=(["], 125);
    assert!(err.contains("regular expression"), "{err}");
}
