//! Volumes and mounts on the embedded engine, as root, through the binary on a temporary
//! data root: named volumes made on first use and by `volume create`, seeded from the image,
//! surviving their containers; anonymous volumes of `-v /path` and of an image's VOLUME list,
//! removed by `rm -v` and `--rm`; `--volumes-from`; bind mounts read-only; tmpfs mounts with
//! options; volumes with driver options; `volume ls -f`, inspect, rm (refused while in use),
//! prune and `system df`; a symlink in the image that cannot move a mount out of the
//! container. Every test removes its containers, also when it fails.

mod common;

use common::engine::Engine;
use common::{images, unique};

/// An engine root with the busybox test image loaded.
fn loaded() -> (Engine, String) {
    Engine::with_busybox()
}

fn volume_names(e: &Engine, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["volume", "ls", "-q"];
    for f in filters {
        args.extend(["-f", f]);
    }
    e.ok(&args).lines().map(str::to_string).collect()
}

fn volume_json(e: &Engine, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["volume", "inspect", name])).unwrap();
    v[0].clone()
}

#[test]
fn a_named_volume_is_seeded_shared_and_outlives_its_containers() {
    let (e, image) = loaded();
    let vol = unique("data");
    let spec = format!("{vol}:/data");
    // Made on first use, seeded with the image's /data (layer 2 deleted gone.txt).
    let out = e.ok(&[
        "run",
        "--rm",
        "-v",
        &spec,
        &image,
        "sh",
        "-c",
        "ls /data; echo hello > /data/mine.txt",
    ]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["keep.txt", "new.txt"]
    );
    assert_eq!(volume_names(&e, &[]), [vol.as_str()]);
    let v = volume_json(&e, &vol);
    let mountpoint = v["Mountpoint"].as_str().unwrap().to_string();
    assert!(mountpoint.starts_with(e.root().to_str().unwrap()), "{v}");
    assert_eq!(
        std::fs::read_to_string(format!("{mountpoint}/mine.txt")).unwrap(),
        "hello\n"
    );
    // A second container sees the data, and seeding does not run again on a volume with files.
    let out = e.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{spec}:ro"),
        &image,
        "sh",
        "-c",
        "cat /data/mine.txt; ls /data | wc -l; touch /data/x; echo $?",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hello");
    assert_eq!(lines[1].trim(), "3", "{out}");
    assert_ne!(lines[2], "0", "a read-only volume refuses writes: {out}");

    // In use by a stopped container: rm is refused, naming the container; rm -f too.
    let holder = unique("holder");
    e.ok(&["create", "--name", &holder, "-v", &spec, &image, "true"]);
    for args in [vec!["volume", "rm", &vol], vec!["volume", "rm", "-f", &vol]] {
        let err = e.fails(&args, 1);
        assert!(err.contains("in use") && err.contains(&holder), "{err}");
    }
    assert_eq!(volume_names(&e, &["dangling=false"]), [vol.as_str()]);
    assert!(volume_names(&e, &["dangling=true"]).is_empty());
    e.ok(&["rm", "-v", &holder]);
    // A named volume is not removed by rm -v; it is dangling now, and prune takes it.
    assert_eq!(volume_names(&e, &["dangling=true"]), [vol.as_str()]);
    let df = e.ok(&["system", "df"]);
    assert!(
        df.lines()
            .any(|l| l.starts_with("Local Volumes") && l.contains("B")),
        "{df}"
    );
    let out = e.ok(&["volume", "prune", "-f"]);
    assert!(out.contains(&vol), "{out}");
    assert!(volume_names(&e, &[]).is_empty());
    assert!(!std::path::Path::new(&mountpoint).exists());
    // -f on a volume that is not there is no error; without it, it is.
    e.ok(&["volume", "rm", "-f", &vol]);
    let err = e.fails(&["volume", "rm", &vol], 1);
    assert!(err.contains("no such volume"), "{err}");
}

#[test]
fn volume_create_takes_labels_options_and_filters() {
    let (e, image) = loaded();
    let (a, b) = (unique("va"), unique("vb"));
    e.ok(&["volume", "create", "-l", "tier=db", &a]);
    e.ok(&[
        "volume",
        "create",
        "--label",
        "tier=cache",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=2m",
        &b,
    ]);
    assert_eq!(volume_names(&e, &["label=tier=db"]), [a.as_str()]);
    assert_eq!(volume_names(&e, &["label=tier"]).len(), 2);
    assert_eq!(
        volume_names(&e, &["name=", "label=tier=cache"]),
        [b.as_str()]
    );
    let err = e.fails(&["volume", "ls", "-f", "colour=red"], 125);
    assert!(err.contains("colour"), "{err}");
    // The tmpfs volume is a tmpfs of 2 MiB inside the container.
    let out = e.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{b}:/cache"),
        &image,
        "sh",
        "-c",
        "grep ' /cache ' /proc/mounts",
    ]);
    assert!(out.contains("tmpfs") && out.contains("size=2048k"), "{out}");
    // Bad options change nothing.
    for (opt, word) in [("colour=red", "colour"), ("type=nosuchfs", "nosuchfs")] {
        let name = unique("bad");
        let err = e.fails(&["volume", "create", "--opt", opt, &name], 125);
        assert!(err.contains(word), "{err}");
        assert!(!volume_names(&e, &[]).contains(&name));
    }
    let err = e.fails(&["volume", "create", "no/slash"], 125);
    assert!(err.contains("no/slash"), "{err}");
    e.ok(&["volume", "rm", &a, &b]);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(e.root().to_str().unwrap()),
        "the tmpfs went with its volume"
    );
}

#[test]
fn anonymous_volumes_go_with_their_container() {
    let (e, image) = loaded();
    // -v /path makes an anonymous volume; --rm removes it with the container.
    e.ok(&[
        "run",
        "--rm",
        "-v",
        "/scratch",
        &image,
        "sh",
        "-c",
        "echo x > /scratch/f",
    ]);
    e.wait_for("the --rm run's volume to go", || {
        volume_names(&e, &[]).is_empty()
    });

    // An image's VOLUME list gets an anonymous volume each, seeded from the image.
    let rootfs = e.write("rootfs.tar", &images::busybox_rootfs());
    let volimage = format!("{}:1", unique("withvol"));
    e.ok(&[
        "import",
        "-c",
        "VOLUME /data",
        rootfs.to_str().unwrap(),
        &volimage,
    ]);
    let keeper = unique("keeper");
    e.ok(&[
        "run",
        "--name",
        &keeper,
        &volimage,
        "sh",
        "-c",
        "ls /data; echo more > /data/more.txt",
    ]);
    let names = volume_names(&e, &[]);
    assert_eq!(names.len(), 1, "{names:?}");
    let anon = names[0].clone();
    assert_eq!(
        anon.len(),
        64,
        "an anonymous volume is named by 64 hex digits: {anon}"
    );
    let logs = e.ok(&["logs", &keeper]);
    assert!(
        logs.contains("keep.txt") && logs.contains("gone.txt"),
        "{logs}"
    );
    assert!(volume_json(&e, &anon)["Anonymous"].as_bool().unwrap());
    let inspect = e.inspect(&keeper);
    let m = &inspect["Mounts"][0];
    assert_eq!(
        (
            m["Type"].as_str(),
            m["Name"].as_str(),
            m["Destination"].as_str()
        ),
        (Some("volume"), Some(anon.as_str()), Some("/data")),
        "{m}"
    );

    // --volumes-from shares it (read-only on request); while the other uses it, rm -v of
    // the first leaves it.
    let reader = unique("reader");
    e.ok(&[
        "create",
        "--name",
        &reader,
        "--volumes-from",
        &format!("{keeper}:ro"),
        &image,
        "sh",
        "-c",
        "cat /data/more.txt; touch /data/y 2>/dev/null; echo $?",
    ]);
    e.ok(&["start", &reader]);
    e.wait_for("the reader to end", || e.status(&reader) == "exited");
    let out = e.ok(&["logs", &reader]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["more", "1"], "{out}");
    e.ok(&["rm", "-v", &keeper]);
    assert_eq!(
        volume_names(&e, &[]),
        [anon.as_str()],
        "still used by {reader}"
    );
    e.ok(&["rm", "-v", &reader]);
    assert!(
        volume_names(&e, &[]).is_empty(),
        "gone with the last container using it"
    );
    // A plain rm keeps an anonymous volume, as Docker does.
    let plain = unique("plain");
    e.ok(&["create", "--name", &plain, "-v", "/x", &image, "true"]);
    e.ok(&["rm", &plain]);
    assert_eq!(volume_names(&e, &["dangling=true"]).len(), 1);
    e.ok(&["volume", "prune", "-f"]);
    assert!(volume_names(&e, &[]).is_empty());
    // --volumes-from of a container that does not exist is refused, and makes nothing.
    let err = e.fails(
        &[
            "create",
            "--volumes-from",
            "nosuchbox",
            "-v",
            "/y",
            &image,
            "true",
        ],
        125,
    );
    assert!(err.contains("nosuchbox"), "{err}");
    assert!(
        volume_names(&e, &[]).is_empty(),
        "a refused create leaves no volume"
    );
    assert!(e.ok(&["ps", "-a", "-q"]).is_empty());
}

#[test]
fn binds_tmpfs_and_mount_flags_behave_as_docker() {
    let (e, image) = loaded();
    let host = e.dir.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("in.txt"), "from the host\n").unwrap();
    let h = host.to_str().unwrap();
    // A read-only bind refuses writes; a read-write one writes through to the host.
    let out = e.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{h}:/ro:ro"),
        "--mount",
        &format!("type=bind,src={h},dst=/rw"),
        &image,
        "sh",
        "-c",
        "cat /ro/in.txt; touch /ro/no 2>/dev/null; echo $?; echo w > /rw/out.txt",
    ]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["from the host", "1"],
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(host.join("out.txt")).unwrap(),
        "w\n"
    );
    assert!(!host.join("no").exists());
    // --tmpfs with options, and --mount type=tmpfs with a size.
    let out = e.ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/t1:size=1m,mode=1770",
        "--mount",
        "type=tmpfs,dst=/t2,tmpfs-size=2097152",
        &image,
        "sh",
        "-c",
        "grep -E ' /t[12] ' /proc/mounts; ls -ld /t1",
    ]);
    assert!(
        out.contains("/t1 tmpfs") && out.contains("size=1024k") && out.contains("mode=1770"),
        "{out}"
    );
    assert!(
        out.contains("/t2 tmpfs") && out.contains("size=2048k"),
        "{out}"
    );
    assert!(out.contains("noexec"), "tmpfs is noexec by default: {out}");
    let out = e.ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/t:exec",
        &image,
        "sh",
        "-c",
        "grep ' /t ' /proc/mounts",
    ]);
    assert!(!out.contains("noexec"), "exec lifts noexec: {out}");
    // Bad values are refused before anything is made.
    for (flag, value) in [
        ("--tmpfs", "/t:size=lots"),
        ("--tmpfs", "relative"),
        ("--mount", "type=tmpfs,dst=/t,tmpfs-mode=9"),
        ("--mount", "type=volume,src=a/b,dst=/x"),
        ("--volumes-from", "a:rx"),
    ] {
        let err = e.fails(&["create", flag, value, &image, "true"], 125);
        assert!(err.contains(value), "{flag} {value}: {err}");
    }
    let err = e.fails(
        &["create", "-v", "/a:/d", "-v", "/b:/d/", &image, "true"],
        125,
    );
    assert!(
        err.contains("duplicate mount point") && err.contains("/d"),
        "{err}"
    );
    assert!(e.ok(&["ps", "-a", "-q"]).is_empty());
}

#[test]
fn a_symlink_in_the_image_cannot_move_a_mount_out_of_the_container() {
    let (e, _) = loaded();
    // An image whose /escape is a symlink to an absolute path (one the host does not have),
    // and whose /up climbs out with `..`.
    let target = format!("/srv/{}", unique("outside"));
    let mut base = images::busybox_rootfs();
    let links = images::layer(&[
        images::Entry::Link("escape", &target),
        images::Entry::Link("up", "../../../../../../../../tmp"),
    ]);
    // Two layers: busybox, then the links.
    let archive = images::archive_of(&[std::mem::take(&mut base), links], "links:1");
    let path = e.write("links.tar", &archive);
    e.ok(&["load", "-i", path.to_str().unwrap()]);
    let vol = unique("v");
    let out = e.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/escape"),
        "--tmpfs",
        "/up",
        "links:1",
        "sh",
        "-c",
        "echo inside > /escape/f; grep -c ' /tmp tmpfs' /proc/mounts",
    ]);
    // The links resolve inside the container: the tmpfs is on its /tmp, the volume where
    // its /escape leads, and the host path of the same name got nothing.
    assert_eq!(out.trim(), "1", "{out}");
    assert!(
        !std::path::Path::new(&target).exists(),
        "{target} was made on the host"
    );
    let data = volume_json(&e, &vol)["Mountpoint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        std::fs::read_to_string(format!("{data}/f")).unwrap(),
        "inside\n"
    );
}

#[test]
fn system_check_finds_damaged_volumes_and_makes_lost_data_directories_again() {
    let (e, image) = loaded();
    let (lost, broken) = (unique("lost"), unique("broken"));
    e.ok(&["volume", "create", &lost]);
    e.ok(&["volume", "create", &broken]);
    assert!(e.ok(&["system", "check"]).contains("No problems found."));
    std::fs::remove_dir(e.root().join("volumes").join(&lost).join("_data")).unwrap();
    let record = e.root().join("volumes").join(&broken).join("volume.json");
    std::fs::write(&record, b"{ not json").unwrap();
    let out = e.run(&["system", "check"]);
    let report = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!("volume {lost}: its data directory is gone")),
        "{report}"
    );
    assert!(
        report.contains(&format!("{broken}: not a whole volume")),
        "{report}"
    );
    // Repair makes the data directory again; the damaged one, which may hold data, stays.
    let out = e.run(&["system", "check", "--repair"]);
    let report = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(e.root().join("volumes").join(&lost).join("_data").is_dir());
    assert!(record.exists());
    e.ok(&["run", "--rm", "-v", &format!("{lost}:/v"), &image, "true"]);
    // Once its owner has dealt with it, the root checks clean.
    std::fs::remove_dir_all(e.root().join("volumes").join(&broken)).unwrap();
    assert!(e.ok(&["system", "check"]).contains("No problems found."));
}
