//! Test images built from the static busybox binary (Debian `busybox-static`): a `docker save`
//! archive of three layers, with a whiteout and an opaque directory, and a plain rootfs tarball.

use serde_json::json;
use sha2::{Digest, Sha256};

/// Where Debian's busybox-static puts the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Applets linked in the first layer.
const APPLETS: &[&str] = &[
    "sh", "echo", "cat", "ls", "sleep", "ps", "hostname", "true", "false", "env", "id", "wc",
    "head", "tail", "grep", "mkdir", "rm", "touch", "date", "seq", "yes", "top", "kill", "nc",
    "wget", "ip", "mount", "unshare", "umount", "stty", "tty", "nslookup",
];

/// One entry of a layer.
pub enum Entry<'a> {
    /// A directory.
    Dir(&'a str),
    /// A regular file with its content and mode.
    File(&'a str, &'a [u8], u32),
    /// A symlink to a target.
    Link(&'a str, &'a str),
}

/// A tarball of the entries, deterministic (fixed times and owners).
pub fn layer(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            Entry::Dir(path) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                h.set_cksum();
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
            Entry::File(path, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append_data(&mut h, path, *data).unwrap();
            }
            Entry::Link(path, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn busybox() -> Vec<u8> {
    std::fs::read(BUSYBOX).unwrap_or_else(|e| {
        panic!("{BUSYBOX} is missing ({e}); install Debian's busybox-static (scripts/test.sh does)")
    })
}

/// The first layer: busybox, its applets, /etc basics, and files the upper layers change.
pub fn base_layer() -> Vec<u8> {
    let bb = busybox();
    let links: Vec<String> = APPLETS.iter().map(|a| format!("bin/{a}")).collect();
    let mut entries = vec![
        Entry::Dir("bin"),
        Entry::File("bin/busybox", &bb, 0o755),
        Entry::Dir("etc"),
        Entry::File(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
            0o644,
        ),
        Entry::File("etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644),
        Entry::Dir("tmp"),
        Entry::Dir("root"),
        Entry::Dir("data"),
        Entry::File("data/keep.txt", b"kept\n", 0o644),
        Entry::File("data/gone.txt", b"deleted by layer 2\n", 0o644),
        Entry::Dir("opaque"),
        Entry::File("opaque/old.txt", b"hidden by layer 2\n", 0o644),
    ];
    for l in &links {
        entries.push(Entry::Link(l, "busybox"));
    }
    layer(&entries)
}

/// The second layer: a new file, a whiteout for data/gone.txt, and an opaque /opaque.
pub fn change_layer() -> Vec<u8> {
    layer(&[
        Entry::Dir("data"),
        Entry::File("data/new.txt", b"added by layer 2\n", 0o644),
        Entry::File("data/.wh.gone.txt", b"", 0o644),
        Entry::Dir("opaque"),
        Entry::File("opaque/.wh..wh..opq", b"", 0o644),
        Entry::File("opaque/fresh.txt", b"only file left in /opaque\n", 0o644),
    ])
}

/// The third layer: a motd.
pub fn motd_layer() -> Vec<u8> {
    layer(&[
        Entry::Dir("etc"),
        Entry::File("etc/motd", b"built by the dockhand tests\n", 0o644),
    ])
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

/// The config of the three-layer busybox image, tagged `tag`.
fn busybox_config(tag: &str, diff_ids: &[String]) -> Vec<u8> {
    config_for(tag, "amd64", diff_ids)
}

/// An image config for `arch`, labelled with `tag`.
fn config_for(tag: &str, arch: &str, diff_ids: &[String]) -> Vec<u8> {
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "WorkingDir": "/",
            // The tag makes the config, and so the image id, unique to this archive.
            "Labels": { "org.dockhand.test": "busybox", "org.dockhand.test.tag": tag },
        },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": [
            { "created": "2024-01-01T00:00:00Z", "created_by": "busybox and applets" },
            { "created": "2024-01-01T00:00:00Z", "created_by": "whiteout and opaque dir" },
            { "created": "2024-01-01T00:00:00Z", "created_by": "motd" },
        ],
    });
    serde_json::to_vec(&config).unwrap()
}

/// Writes the busybox image for `arch` (config labelled `tag`) into `dir/blobs/sha256`, its
/// layers zstd-compressed or plain; returns the manifest's digest and size.
fn oci_image(dir: &std::path::Path, tag: &str, arch: &str, zstd: bool) -> (String, usize) {
    let layers = [base_layer(), change_layer(), motd_layer()];
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let config = config_for(tag, arch, &diff_ids);
    let mut descriptors = Vec::new();
    let (config_digest, config_size) = put_blob(dir, &config);
    for l in &layers {
        let (data, media) = if zstd {
            (
                zstd::stream::encode_all(&l[..], 3).unwrap(),
                "application/vnd.oci.image.layer.v1.tar+zstd",
            )
        } else {
            (l.clone(), "application/vnd.oci.image.layer.v1.tar")
        };
        let (d, size) = put_blob(dir, &data);
        descriptors.push(json!({ "mediaType": media, "digest": d, "size": size }));
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": descriptors,
    }))
    .unwrap();
    put_blob(dir, &manifest)
}

/// Stores a blob in an OCI layout; returns its digest and size.
fn put_blob(dir: &std::path::Path, data: &[u8]) -> (String, usize) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let d = sha256(data);
    std::fs::write(blobs.join(&d[7..]), data).unwrap();
    (d, data.len())
}

/// Writes `index.json` (one entry, named `name`) and `oci-layout`.
fn write_index(dir: &std::path::Path, media_type: &str, digest: &str, size: usize, name: &str) {
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": media_type, "digest": digest, "size": size,
            "annotations": {"org.opencontainers.image.ref.name": name},
        }],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// An OCI image layout directory in `dir` holding the busybox image (tagged `tag`) with
/// zstd-compressed layers under the name `zst`, for skopeo to copy as it is.
pub fn busybox_oci_layout_zstd(dir: &std::path::Path, tag: &str) {
    let (md, ms) = oci_image(dir, tag, "amd64", true);
    write_index(
        dir,
        "application/vnd.oci.image.manifest.v1+json",
        &md,
        ms,
        "zst",
    );
}

/// An OCI image layout directory in `dir` whose entry `multi` is an image index of the busybox
/// image for arm64 (listed first) and for amd64, with configs labelled `tag-arm64` and
/// `tag-amd64`.
pub fn busybox_multiarch_layout(dir: &std::path::Path, tag: &str) {
    let (arm, arm_size) = oci_image(dir, &format!("{tag}-arm64"), "arm64", false);
    let (amd, amd_size) = oci_image(dir, &format!("{tag}-amd64"), "amd64", false);
    let list = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm, "size": arm_size,
             "platform": {"architecture": "arm64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd, "size": amd_size,
             "platform": {"architecture": "amd64", "os": "linux"}},
        ],
    }))
    .unwrap();
    let (ld, ls) = put_blob(dir, &list);
    write_index(
        dir,
        "application/vnd.oci.image.index.v1+json",
        &ld,
        ls,
        "multi",
    );
}

/// A `docker save` archive of the three-layer busybox image, tagged `tag`.
pub fn busybox_archive(tag: &str) -> Vec<u8> {
    archive_of(&[base_layer(), change_layer(), motd_layer()], tag)
}

/// A `docker save` archive of an image made of `layers`, tagged `tag`.
pub fn archive_of(layers: &[Vec<u8>], tag: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let config = busybox_config(tag, &diff_ids);
    let config_name = format!("{}.json", &sha256(&config)[7..]);
    let layer_names: Vec<String> = diff_ids
        .iter()
        .map(|d| format!("{}/layer.tar", &d[7..]))
        .collect();
    let manifest = serde_json::to_vec(&json!([{
        "Config": config_name,
        "RepoTags": [tag],
        "Layers": layer_names,
    }]))
    .unwrap();
    let mut files: Vec<(String, Vec<u8>)> = vec![(config_name, config)];
    for (name, data) in layer_names.iter().zip(layers) {
        files.push((name.clone(), data.clone()));
    }
    files.push(("manifest.json".into(), manifest));
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// A single-layer root filesystem tarball with busybox, for `import`.
pub fn busybox_rootfs() -> Vec<u8> {
    base_layer()
}
