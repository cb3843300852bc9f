//! The local driver's options, as `docker volume create --opt` takes them: `type` (a
//! filesystem type such as `tmpfs`, or `none` with `o=bind`), `device` (what to mount: a
//! path for a bind, `tmpfs` for a tmpfs) and `o` (mount options: flags such as `ro`,
//! `nosuid`, `bind`, and filesystem data such as `size=64m`). Checked when the volume is
//! created; mounted on the volume's data directory when a container first needs it.

use std::collections::BTreeMap;
use std::path::Path;

use rustix::mount::MountFlags;

use super::VolumeError;

/// A volume's mount, from its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    kind: Option<Kind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A bind of a host path.
    Bind { device: String, flags: MountFlags },
    /// A filesystem of `fstype` from `device`.
    Filesystem {
        fstype: String,
        device: String,
        flags: MountFlags,
        data: String,
    },
}

impl Options {
    /// Checks the options; a volume without any needs no mount.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<Options, VolumeError> {
        if let Some(k) = options
            .keys()
            .find(|k| !matches!(k.as_str(), "type" | "device" | "o"))
        {
            return Err(VolumeError::Invalid(format!(
                "invalid volume option {k:?}: the local driver takes type, device and o (e.g. --opt type=tmpfs --opt device=tmpfs --opt o=size=64m)"
            )));
        }
        if options.is_empty() {
            return Ok(Options { kind: None });
        }
        let fstype = options.get("type").map(String::as_str).unwrap_or("");
        let o = options.get("o").map(String::as_str).unwrap_or("");
        let mut flags = MountFlags::empty();
        let mut data = Vec::new();
        let mut bind = false;
        for part in o.split(',').filter(|p| !p.is_empty()) {
            match part {
                "bind" | "rbind" => bind = true,
                "ro" => flags |= MountFlags::RDONLY,
                "rw" => {}
                "nosuid" => flags |= MountFlags::NOSUID,
                "nodev" => flags |= MountFlags::NODEV,
                "noexec" => flags |= MountFlags::NOEXEC,
                "noatime" => flags |= MountFlags::NOATIME,
                "relatime" => flags |= MountFlags::RELATIME,
                other => data.push(other),
            }
        }
        let device = options.get("device").cloned();
        let kind = match (fstype, bind) {
            ("" | "none", true) => {
                let device = device.filter(|d| d.starts_with('/')).ok_or_else(|| {
                    VolumeError::Invalid(
                        "a bind volume needs --opt device=/absolute/host/path".into(),
                    )
                })?;
                if !Path::new(&device).is_dir() {
                    return Err(VolumeError::Invalid(format!(
                        "the bind volume's device {device} is not a directory on this host; create it first"
                    )));
                }
                if !data.is_empty() {
                    return Err(VolumeError::Invalid(format!(
                        "a bind volume takes flags only in o, not {:?}",
                        data.join(",")
                    )));
                }
                Kind::Bind { device, flags }
            }
            ("" | "none", false) => {
                return Err(VolumeError::Invalid(
                    "volume options need type=FSTYPE (e.g. type=tmpfs), or type=none with o=bind and device=/host/path".into(),
                ));
            }
            (fstype, _) => {
                if !filesystem_known(fstype) {
                    return Err(VolumeError::Invalid(format!(
                        "volume option type={fstype}: this kernel has no such filesystem (see /proc/filesystems)"
                    )));
                }
                Kind::Filesystem {
                    device: device.unwrap_or_else(|| fstype.to_string()),
                    fstype: fstype.to_string(),
                    flags,
                    data: data.join(","),
                }
            }
        };
        Ok(Options { kind: Some(kind) })
    }

    /// Whether the options ask for no mount.
    pub fn is_none(&self) -> bool {
        self.kind.is_none()
    }

    /// Mounts on `target`.
    pub fn mount(&self, target: &Path) -> std::io::Result<()> {
        match &self.kind {
            None => Ok(()),
            Some(Kind::Bind { device, flags }) => {
                rustix::mount::mount_recursive_bind(device.as_str(), target)?;
                if !flags.is_empty() {
                    rustix::mount::mount_remount(target, MountFlags::BIND | *flags, "")?;
                }
                Ok(())
            }
            Some(Kind::Filesystem {
                fstype,
                device,
                flags,
                data,
            }) => Ok(rustix::mount::mount(
                device.as_str(),
                target,
                fstype.as_str(),
                *flags,
                data.as_str(),
            )?),
        }
    }
}

/// Whether the running kernel knows filesystem `fstype`.
fn filesystem_known(fstype: &str) -> bool {
    std::fs::read_to_string("/proc/filesystems").is_ok_and(|t| {
        t.lines()
            .any(|l| l.split_whitespace().last() == Some(fstype))
    })
}

/// Whether `path` is the root of a mount (`statx`'s mount-root attribute).
pub fn is_mount_point(path: &Path) -> bool {
    const MOUNT_ROOT: u64 = nix::libc::STATX_ATTR_MOUNT_ROOT as u64;
    rustix::fs::statx(
        rustix::fs::CWD,
        path,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        rustix::fs::StatxFlags::BASIC_STATS,
    )
    .is_ok_and(|s| s.stx_attributes_mask & MOUNT_ROOT != 0 && s.stx_attributes & MOUNT_ROOT != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Result<Options, VolumeError> {
        Options::parse(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn options_are_checked_before_anything_is_made() {
        assert!(opts(&[]).unwrap().is_none());
        let t = opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m,uid=5"),
        ])
        .unwrap();
        assert_eq!(
            t.kind,
            Some(Kind::Filesystem {
                fstype: "tmpfs".into(),
                device: "tmpfs".into(),
                flags: MountFlags::empty(),
                data: "size=1m,uid=5".into()
            })
        );
        assert!(opts(&[("type", "none"), ("o", "bind"), ("device", "/")]).is_ok());
        for (bad, word) in [
            (vec![("type", "none"), ("o", "bind")], "device"),
            (
                vec![("type", "none"), ("o", "bind"), ("device", "/no/such/dir")],
                "/no/such/dir",
            ),
            (vec![("type", "nosuchfs")], "nosuchfs"),
            (vec![("device", "/x")], "type"),
            (vec![("size", "1m")], "size"),
        ] {
            let err = opts(&bad).unwrap_err().to_string();
            assert!(err.contains(word), "{bad:?}: {err}");
        }
    }

    #[test]
    fn mount_points_are_told_apart() {
        assert!(is_mount_point(Path::new("/proc")));
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_mount_point(dir.path()));
    }
}
