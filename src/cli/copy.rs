//! `cp`: copies files between a container and the host, in either direction, as docker does.
//! On the host side the archive is unpacked with the tar crate's `unpack_in`, which refuses
//! entries that would land outside the destination (`..`, absolute paths, links out).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use futures::StreamExt;

use crate::backend::{AnyBackend, collect_bytes};

use crate::backend::prelude::*;

/// `CONTAINER:PATH` → (container, path); a host path → None.
fn container_path(arg: &str) -> Option<(&str, &str)> {
    // A host path with a colon can be written ./a:b, as with docker.
    if arg.starts_with('/') || arg.starts_with('.') || arg == "-" {
        return None;
    }
    arg.split_once(':').filter(|(c, _)| !c.is_empty())
}

/// `cp SRC DEST`, one of them `CONTAINER:PATH`.
pub async fn cp(b: &AnyBackend, src: &str, dest: &str) -> Result<()> {
    match (container_path(src), container_path(dest)) {
        (Some((c, path)), None) => from_container(b, c, path, dest).await,
        (None, Some((c, path))) => to_container(b, src, c, path).await,
        (Some(_), Some(_)) => {
            bail!("copying between two containers is not supported; copy to the host first")
        }
        (None, None) => bail!("one of SRC and DEST must be CONTAINER:PATH"),
    }
}

async fn from_container(b: &AnyBackend, container: &str, path: &str, dest: &str) -> Result<()> {
    let tar = collect_bytes(b.copy_from(container, path).await?)
        .await
        .context("reading the archive")?;
    if dest == "-" {
        use std::io::Write;
        std::io::stdout().write_all(&tar)?;
        return Ok(());
    }
    unpack(&tar, Path::new(dest), &format!("{container}:{path}"))
}

/// Unpacks a `docker cp` archive at `dest`: into it when it is a directory, else as that name.
/// Entries that would escape are refused and nothing is left behind.
fn unpack(tar: &[u8], dest: &Path, what: &str) -> Result<()> {
    let (dir, rename) = if dest.is_dir() {
        (dest.to_path_buf(), None)
    } else {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            bail!("no such directory on the host: {}", parent.display());
        }
        (parent, Some(dest.to_path_buf()))
    };
    // Unpacked beside the destination first, so a refused archive leaves nothing.
    let staging = tempfile::Builder::new()
        .prefix(".dockhand-cp-")
        .tempdir_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut top = None;
    for entry in tar::Archive::new(tar).entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_path_buf();
        if !entry.unpack_in(staging.path())? {
            bail!(
                "the archive entry {} would be written outside {}; nothing was copied",
                name.display(),
                dir.display()
            );
        }
        top.get_or_insert_with(|| name.components().next().map(|c| c.as_os_str().to_owned()));
    }
    let Some(Some(top)) = top else {
        bail!("{what} came back empty");
    };
    let target = rename.unwrap_or_else(|| dir.join(&top));
    std::fs::rename(staging.path().join(&top), &target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    Ok(())
}

async fn to_container(b: &AnyBackend, src: &str, container: &str, path: &str) -> Result<()> {
    if src == "-" {
        let archive = super::image::read_stream(None)?;
        b.copy_to(container, path, archive).await?;
        return Ok(());
    }
    let src_path = Path::new(src);
    let meta = std::fs::symlink_metadata(src_path).with_context(|| format!("cannot read {src}"))?;
    let (dir, name) = match b.stat_path(container, path).await? {
        Some(true) => (
            path.to_string(),
            src_path
                .file_name()
                .with_context(|| format!("{src} has no file name"))?
                .to_string_lossy()
                .into_owned(),
        ),
        Some(false) if path.ends_with('/') => bail!("{container}:{path} is not a directory"),
        None if path.ends_with('/') => bail!("no such directory in {container}: {path}"),
        _ => {
            let trimmed = path.trim_end_matches('/');
            let (parent, name) = trimmed.rsplit_once('/').unwrap_or((".", trimmed));
            let parent = if parent.is_empty() { "/" } else { parent };
            if name.is_empty() {
                bail!("give a destination path in {container}");
            }
            (parent.to_string(), name.to_string())
        }
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    if meta.is_dir() {
        builder.append_dir_all(&name, src_path)?;
    } else {
        builder.append_path_with_name(src_path, &name)?;
    }
    let bytes = builder.into_inner()?;
    let archive = futures::stream::once(async move { Ok(bytes::Bytes::from(bytes)) }).boxed();
    b.copy_to(container, &dir, archive).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_entry(name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, data).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn hostile_archives_write_nothing_outside() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        for name in [&b"../escape.txt"[..], b"ok/../../escape.txt"] {
            let err = unpack(&raw_entry(name, b"x"), &dest, "test").unwrap_err();
            assert!(err.to_string().contains("outside"), "{err}");
        }
        assert!(!root.path().join("escape.txt").exists());
        assert_eq!(
            std::fs::read_dir(&dest).unwrap().count(),
            0,
            "nothing left behind"
        );
        unpack(&raw_entry(b"fine.txt", b"x"), &dest, "test").unwrap();
        assert_eq!(std::fs::read(dest.join("fine.txt")).unwrap(), b"x");
        unpack(
            &raw_entry(b"fine.txt", b"y"),
            &root.path().join("renamed.txt"),
            "test",
        )
        .unwrap();
        assert_eq!(
            std::fs::read(root.path().join("renamed.txt")).unwrap(),
            b"y"
        );
    }

    #[test]
    fn container_paths_are_recognised() {
        assert_eq!(container_path("web:/etc/motd"), Some(("web", "/etc/motd")));
        assert_eq!(container_path("./a:b"), None);
        assert_eq!(container_path("/tmp/x"), None);
        assert_eq!(container_path("-"), None);
    }
}
