//! Unpacking layers as root into real directories: the busybox test layers come out with
//! modes, links, whiteouts and opaque dirs in overlay form (checked through a real overlay
//! mount), and a corpus of hostile tarballs writes nothing outside the layer directory.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::images;
use dockhand::engine::layer::{UnpackError, unpack};

/// A tar entry written from a raw header, so names the tar crate would refuse can be built.
fn raw(name: &str, kind: tar::EntryType, link: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(data.len() as u64);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn archive(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Unmounts on drop.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn busybox_layers_unpack_in_overlay_form() {
    let dir = tempfile::tempdir().unwrap();
    let (base, change, merged, upper, work) = (
        dir.path().join("base"),
        dir.path().join("change"),
        dir.path().join("merged"),
        dir.path().join("upper"),
        dir.path().join("work"),
    );
    for d in [&base, &change, &merged, &upper, &work] {
        std::fs::create_dir(d).unwrap();
    }
    let r = unpack(images::base_layer().as_slice(), &base).unwrap();
    assert!(r.entries > 20 && r.whiteouts == 0);
    let bb = std::fs::metadata(base.join("bin/busybox")).unwrap();
    assert_eq!(bb.permissions().mode() & 0o777, 0o755);
    assert_eq!(bb.mtime(), 1_700_000_000, "times are kept");
    assert_eq!(
        std::fs::read_link(base.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );

    let r = unpack(images::change_layer().as_slice(), &change).unwrap();
    assert_eq!((r.whiteouts, r.opaque_dirs), (1, 1));
    let wh = std::fs::symlink_metadata(change.join("data/gone.txt")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "a whiteout is a 0/0 char device"
    );
    let opaque = Command::new("getfattr")
        .args(["--only-values", "-n", "trusted.overlay.opaque"])
        .arg(change.join("opaque"))
        .output()
        .expect("getfattr (Debian attr; scripts/test.sh installs it)");
    assert!(
        opaque.status.success(),
        "the opaque directory has no trusted.overlay.opaque: {}",
        String::from_utf8_lossy(&opaque.stderr)
    );
    assert_eq!(opaque.stdout, b"y");

    // The kernel's view through overlayfs is the final judge.
    let lower = format!(
        "lowerdir={}:{},upperdir={},workdir={}",
        change.display(),
        base.display(),
        upper.display(),
        work.display()
    );
    let ok = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &lower])
        .arg(&merged)
        .status()
        .unwrap();
    assert!(ok.success(), "mounting overlayfs (root is needed)");
    let _m = Mounted(&merged);
    let mut data: Vec<String> = std::fs::read_dir(merged.join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    data.sort();
    assert_eq!(data, ["keep.txt", "new.txt"], "the whiteout hides gone.txt");
    let opaque: Vec<String> = std::fs::read_dir(merged.join("opaque"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        opaque,
        ["fresh.txt"],
        "the opaque dir hides the lower old.txt"
    );
}

#[test]
fn hostile_tarballs_write_nothing_outside() {
    use tar::EntryType as T;
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "absolute path",
            vec![raw("/evil.txt", T::Regular, None, b"x")],
        ),
        ("dot-dot", vec![raw("../evil.txt", T::Regular, None, b"x")]),
        (
            "nested dot-dot",
            vec![raw("a/../../evil.txt", T::Regular, None, b"x")],
        ),
        (
            "write through a symlink",
            vec![
                raw("link", T::Symlink, Some(".."), b""),
                raw("link/evil.txt", T::Regular, None, b"x"),
            ],
        ),
        (
            "write through an absolute symlink",
            vec![
                raw("abs", T::Symlink, Some("/tmp"), b""),
                raw("abs/evil.txt", T::Regular, None, b"x"),
            ],
        ),
        (
            "hardlink to an absolute path",
            vec![raw("h", T::Link, Some("/etc/passwd"), b"")],
        ),
        (
            "hardlink out with dot-dot",
            vec![raw("h", T::Link, Some("../outside.txt"), b"")],
        ),
        (
            "hardlink through a symlink",
            vec![
                raw("l", T::Symlink, Some(".."), b""),
                raw("h", T::Link, Some("l/outside.txt"), b""),
            ],
        ),
        ("device node", vec![raw("dev/null", T::Char, None, b"")]),
    ];
    for (what, entries) in cases {
        let root = tempfile::tempdir().unwrap();
        let layer = root.path().join("layer");
        std::fs::create_dir(&layer).unwrap();
        std::fs::write(root.path().join("outside.txt"), b"untouched").unwrap();
        let before: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let err = unpack(archive(&entries).as_slice(), &layer).unwrap_err();
        assert!(matches!(err, UnpackError::Refused { .. }), "{what}: {err}");
        assert!(
            err.to_string().contains("refused layer entry"),
            "{what}: {err}"
        );
        let after: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(before, after, "{what}: nothing appeared beside the layer");
        assert_eq!(
            std::fs::read(root.path().join("outside.txt")).unwrap(),
            b"untouched",
            "{what}"
        );
        assert!(
            !Path::new("/evil.txt").exists() && !Path::new("/tmp/evil.txt").exists(),
            "{what}"
        );
    }
}

#[test]
fn symlinks_pointing_out_are_kept_as_links() {
    let root = tempfile::tempdir().unwrap();
    let layer = root.path().join("layer");
    std::fs::create_dir(&layer).unwrap();
    let before = std::fs::metadata("/etc/passwd").unwrap();
    let tar = archive(&[
        raw(
            "etc/localtime",
            tar::EntryType::Symlink,
            Some("/usr/share/zoneinfo/UTC"),
            b"",
        ),
        raw("lib64", tar::EntryType::Symlink, Some("../outside"), b""),
        raw(
            "passwd-link",
            tar::EntryType::Symlink,
            Some("/etc/passwd"),
            b"",
        ),
    ]);
    unpack(tar.as_slice(), &layer).unwrap();
    assert_eq!(
        std::fs::read_link(layer.join("etc/localtime")).unwrap(),
        Path::new("/usr/share/zoneinfo/UTC")
    );
    assert!(
        std::fs::symlink_metadata(layer.join("lib64"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let after = std::fs::metadata("/etc/passwd").unwrap();
    assert_eq!(
        (before.uid(), before.mode(), before.mtime()),
        (after.uid(), after.mode(), after.mtime())
    );
}

#[test]
fn a_tarball_of_dot_unpacks_into_the_layer() {
    // `tar -C rootfs -cf x.tar .` starts with "./" and prefixes every name with it.
    let root = tempfile::tempdir().unwrap();
    let layer = root.path().join("layer");
    std::fs::create_dir(&layer).unwrap();
    let tar = archive(&[
        raw("./", tar::EntryType::Directory, None, b""),
        raw("./etc/", tar::EntryType::Directory, None, b""),
        raw("./etc/motd", tar::EntryType::Regular, None, b"hi\n"),
    ]);
    let r = unpack(tar.as_slice(), &layer).unwrap();
    assert_eq!(r.entries, 2);
    assert_eq!(std::fs::read(layer.join("etc/motd")).unwrap(), b"hi\n");
}
