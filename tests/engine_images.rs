//! The engine's image store as root, on real overlayfs: `docker save` archives load into
//! shared layers, snapshots show the merged view (overlay and copy), bad content leaves
//! nothing behind, save/load round trips (also through dockerd), and deep stacks mount.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{images, unique};
use dockhand::engine::image::archive::{load, save};
use dockhand::engine::image::{ImageError, ImageStore};
use dockhand::engine::layer::{Driver, LayerError, LayerStore, SnapshotError, Snapshotter};
use dockhand::engine::store::Root;

fn store() -> (tempfile::TempDir, ImageStore) {
    let dir = tempfile::tempdir().unwrap();
    let root = Root::open(dir.path().join("root")).unwrap();
    (dir, ImageStore::new(&root))
}

/// Releases a snapshot on drop, so a failed assertion leaves no mount behind.
struct Snap<'a>(&'a Snapshotter, std::path::PathBuf);

impl Drop for Snap<'_> {
    fn drop(&mut self) {
        let _ = self.0.remove(&self.1);
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What a user sees in the busybox test image: layer 2 deleted a file and made /opaque
/// opaque, layer 3 added a motd.
fn assert_busybox_view(rootfs: &Path) {
    assert!(rootfs.join("bin/busybox").is_file());
    assert_eq!(read(&rootfs.join("data/keep.txt")), "kept\n");
    assert_eq!(read(&rootfs.join("data/new.txt")), "added by layer 2\n");
    assert!(
        !rootfs.join("data/gone.txt").exists(),
        "the whiteout hides it"
    );
    assert_eq!(names(&rootfs.join("opaque")), ["fresh.txt"]);
    assert_eq!(
        read(&rootfs.join("etc/motd")),
        "built by the dockhand tests\n"
    );
    assert_eq!(
        std::fs::read_link(rootfs.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
}

fn nothing_stored(store: &ImageStore, root: &Path) {
    assert!(store.records().unwrap().is_empty());
    assert!(store.refs().unwrap().is_empty());
    assert!(store.layers().list().unwrap().is_empty(), "no layer kept");
    assert!(store.blobs().list().unwrap().is_empty(), "no blob kept");
    assert!(names(&root.join("tmp")).is_empty(), "nothing staged");
}

#[test]
fn a_loaded_image_shows_its_merged_view_through_overlay_and_copy() {
    let (dir, store) = store();
    let tag = format!("{}:v1", unique("busybox"));
    let loaded = load(&store, &images::busybox_archive(&tag)[..]).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].lines(), [format!("Loaded image: {tag}")]);
    let id = store.resolve(&tag).unwrap();
    assert_eq!(id, loaded[0].id);
    assert_eq!(store.resolve(&id.hex()[..12]).unwrap(), id, "id prefix");
    let image = store.image(&id).unwrap();
    assert_eq!(image.record.layers.len(), 3);
    let chain = image.record.chain();

    for driver in [Driver::Overlay, Driver::Copy] {
        let snapshots = Snapshotter::new(store.layers(), driver);
        let ctr = dir.path().join(format!("ctr-{}", driver.name()));
        let snap = Snap(&snapshots, ctr.clone());
        let rootfs = snapshots.prepare(&chain, &ctr).unwrap();
        assert_busybox_view(&rootfs);
        // Writes land in the container's own directory, never in the shared layers.
        std::fs::write(rootfs.join("data/written.txt"), "mine").unwrap();
        std::fs::remove_file(rootfs.join("data/keep.txt")).unwrap();
        for c in &chain {
            let diff = store.layers().diff_dir(c);
            assert!(!diff.join("data/written.txt").exists());
        }
        assert!(
            store
                .layers()
                .diff_dir(&chain[0])
                .join("data/keep.txt")
                .exists()
        );
        if driver == Driver::Overlay {
            assert_eq!(read(&ctr.join("upper/data/written.txt")), "mine");
            // A second snapshot of the same image does not see the first one's changes.
            let other = dir.path().join("other");
            let other_snap = Snap(&snapshots, other.clone());
            let other_root = snapshots.prepare(&chain, &other).unwrap();
            assert!(!other_root.join("data/written.txt").exists());
            assert!(other_root.join("data/keep.txt").exists());
            drop(other_snap);
        }
        drop(snap);
        assert!(!ctr.join("rootfs").exists(), "removed with its snapshot");
    }
}

#[test]
fn images_sharing_layers_store_them_once() {
    let (_dir, store) = store();
    let a = format!("{}:a", unique("busybox"));
    let b = format!("{}:b", unique("busybox"));
    load(&store, &images::busybox_archive(&a)[..]).unwrap();
    load(&store, &images::busybox_archive(&b)[..]).unwrap();
    assert_ne!(store.resolve(&a).unwrap(), store.resolve(&b).unwrap());
    assert_eq!(
        store.layers().list().unwrap().len(),
        3,
        "three layers, once"
    );
    // Three layer blobs and two configs.
    assert_eq!(store.blobs().list().unwrap().len(), 5);

    // Removing one image keeps the layers the other needs; removing both frees everything.
    let lock = store.lock().unwrap();
    let none = BTreeSet::new();
    store
        .delete(&lock, &store.resolve(&a).unwrap(), &none)
        .unwrap();
    assert_eq!(store.layers().list().unwrap().len(), 3);
    assert_eq!(store.blobs().list().unwrap().len(), 4);
    store
        .delete(&lock, &store.resolve(&b).unwrap(), &none)
        .unwrap();
    assert!(store.layers().list().unwrap().is_empty());
    assert!(store.blobs().list().unwrap().is_empty());
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_is_refused_and_leaves_nothing() {
    let (dir, store) = store();
    let mut archive = images::busybox_archive(&format!("{}:bad", unique("busybox")));
    // Change one byte of the motd layer's content; its tar header still reads.
    let needle = b"built by the dockhand tests";
    let at = archive
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    archive[at] = b'B';
    let err = load(&store, &archive[..]).unwrap_err();
    assert!(
        matches!(err, ImageError::Layer(LayerError::DiffIdMismatch { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was stored"), "{err}");
    nothing_stored(&store, &dir.path().join("root"));

    // A truncated archive: also refused, also nothing left.
    let whole = images::busybox_archive(&format!("{}:cut", unique("busybox")));
    let err = load(&store, &whole[..whole.len() / 2]).unwrap_err();
    assert!(!err.to_string().is_empty());
    nothing_stored(&store, &dir.path().join("root"));

    // Not an archive at all.
    let err = load(&store, &b"hello"[..]).unwrap_err();
    assert!(err.to_string().contains("docker save"), "{err}");
    nothing_stored(&store, &dir.path().join("root"));
}

#[test]
fn save_then_load_into_another_root_gives_the_same_image() {
    let (dir, store) = store();
    let tag = format!("{}:rt", unique("busybox"));
    load(&store, &images::busybox_archive(&tag)[..]).unwrap();
    let id = store.resolve(&tag).unwrap();
    let mut archive = Vec::new();
    save(&store, std::slice::from_ref(&tag), &mut archive).unwrap();

    let (dir2, other) = self::store();
    let loaded = load(&other, &archive[..]).unwrap();
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].lines(), [format!("Loaded image: {tag}")]);
    let snapshots = Snapshotter::new(other.layers(), Driver::Overlay);
    let ctr = dir2.path().join("ctr");
    let _snap = Snap(&snapshots, ctr.clone());
    let rootfs = snapshots
        .prepare(&other.image(&id).unwrap().record.chain(), &ctr)
        .unwrap();
    assert_busybox_view(&rootfs);
    drop(dir);
}

#[test]
fn deep_stacks_mount_and_too_deep_ones_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let root = Root::open(dir.path().join("root")).unwrap();
    let layers = LayerStore::new(&root);
    let mut chain = Vec::new();
    for i in 0..300 {
        let name = format!("f{i}");
        let tar = images::layer(&[images::Entry::File(&name, name.as_bytes(), 0o644)]);
        let meta = layers.create(chain.last(), None, &tar[..]).unwrap();
        chain.push(meta.chain_id);
    }
    let snapshots = Snapshotter::new(layers.clone(), Driver::Overlay);
    let ctr = dir.path().join("deep");
    let snap = Snap(&snapshots, ctr.clone());
    let rootfs = snapshots.prepare(&chain[..128], &ctr).unwrap();
    assert_eq!(names(&rootfs).len(), 128, "every layer's file is visible");
    assert_eq!(read(&rootfs.join("f127")), "f127");
    drop(snap);

    let err = snapshots
        .prepare(&chain, &dir.path().join("too-deep"))
        .unwrap_err();
    let SnapshotError::TooManyLayers { layers: n, max } = err else {
        panic!("{err}")
    };
    assert_eq!(n, 300);
    assert!((128..300).contains(&max), "{max}");
    assert!(err_text(n, max).contains("storage.driver"));
}

fn err_text(layers: usize, max: usize) -> String {
    SnapshotError::TooManyLayers { layers, max }.to_string()
}

/// dockerd (started by scripts/test.sh) takes what `save` writes, and what `docker save`
/// writes loads here with the same id.
#[test]
fn archives_round_trip_through_dockerd() {
    let (_dir, store) = store();
    let tag = format!("{}:dockerd", unique("busybox"));
    load(&store, &images::busybox_archive(&tag)[..]).unwrap();
    let id = store.resolve(&tag).unwrap();
    let ours = tempfile::NamedTempFile::new().unwrap();
    save(&store, std::slice::from_ref(&tag), ours.reopen().unwrap()).unwrap();

    struct Rmi(String);
    impl Drop for Rmi {
        fn drop(&mut self) {
            let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
        }
    }
    let _rmi = Rmi(tag.clone());
    let out = Command::new("docker")
        .args(["load", "-i"])
        .arg(ours.path())
        .output()
        .expect("the docker client (scripts/test.sh installs docker.io)");
    assert!(
        out.status.success(),
        "docker load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", &tag])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id.to_string());

    let theirs = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("docker")
        .args(["save", "-o"])
        .arg(theirs.path())
        .arg(&tag)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_dir2, other) = self::store();
    let loaded = load(&other, std::fs::File::open(theirs.path()).unwrap()).unwrap();
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].lines(), [format!("Loaded image: {tag}")]);
}
