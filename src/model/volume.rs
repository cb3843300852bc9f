//! Named volumes, and the filters of `volume ls`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Invalid, UnixTime};

/// One named volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeSummary {
    /// Name.
    pub name: String,
    /// Driver (`local`).
    pub driver: String,
    /// Where the data lives on the host.
    pub mountpoint: String,
    /// Creation time.
    pub created: UnixTime,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Names of containers that mount it.
    pub used_by: Vec<String>,
    /// Size on disk, when known.
    pub size: Option<u64>,
    /// The driver's options (`type`, `device`, `o` for `local`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Made for one container (an image's VOLUME or `-v /path`), not named by a user.
    #[serde(default)]
    pub anonymous: bool,
}

impl VolumeSummary {
    /// The volume as `docker volume inspect` prints it (scripts read `.Mountpoint`), with
    /// what Docker leaves out at the end: the containers using it, its size when measured,
    /// and whether it is anonymous.
    pub fn inspect_json(&self) -> serde_json::Value {
        serde_json::json!({
            "CreatedAt": crate::util::time::rfc3339(self.created),
            "Driver": self.driver,
            "Labels": self.labels,
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": self.options,
            "Scope": "local",
            "UsedBy": self.used_by,
            "Size": self.size,
            "Anonymous": self.anonymous,
        })
    }
}

/// What to create a volume with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeSpec {
    /// Name; generated when `None`.
    pub name: Option<String>,
    /// Driver (`local` when `None`).
    pub driver: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Driver options (`--opt type=tmpfs`, …).
    pub options: BTreeMap<String, String>,
}

/// The `-f` filters of `volume ls`: every one given must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeFilter {
    /// `dangling=true|false`: no container uses it, or one does.
    pub dangling: Option<bool>,
    /// `name=…`: parts of the name (any one matches).
    pub names: Vec<String>,
    /// `label=KEY` or `label=KEY=VALUE` (all must match).
    pub labels: Vec<(String, Option<String>)>,
    /// `driver=…`.
    pub drivers: Vec<String>,
}

impl VolumeFilter {
    /// Reads `KEY=VALUE` filters as `volume ls -f` takes them.
    pub fn parse(items: &[String]) -> Result<VolumeFilter, Invalid> {
        let mut f = VolumeFilter::default();
        for item in items {
            let Some((key, value)) = item.split_once('=') else {
                return Err(Invalid::new(format!(
                    "invalid filter {item:?}: write KEY=VALUE, with KEY one of dangling, name, label, driver"
                )));
            };
            match key {
                "dangling" => {
                    f.dangling = Some(match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(Invalid::new(format!(
                                "invalid filter {item:?}: dangling is true or false"
                            )));
                        }
                    })
                }
                "name" => f.names.push(value.to_string()),
                "label" => f.labels.push(match value.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (value.to_string(), None),
                }),
                "driver" => f.drivers.push(value.to_string()),
                _ => {
                    return Err(Invalid::new(format!(
                        "invalid filter {key:?}: volume ls filters by dangling, name, label or driver"
                    )));
                }
            }
        }
        Ok(f)
    }

    /// Whether `v` passes every filter.
    pub fn matches(&self, v: &VolumeSummary) -> bool {
        self.dangling.is_none_or(|d| d == v.used_by.is_empty())
            && (self.names.is_empty() || self.names.iter().any(|n| v.name.contains(n.as_str())))
            && (self.drivers.is_empty() || self.drivers.contains(&v.driver))
            && self
                .labels
                .iter()
                .all(|(k, want)| match (v.labels.get(k), want) {
                    (Some(have), Some(want)) => have == want,
                    (Some(_), None) => true,
                    (None, _) => false,
                })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(name: &str, used: bool, labels: &[(&str, &str)]) -> VolumeSummary {
        VolumeSummary {
            name: name.into(),
            driver: "local".into(),
            mountpoint: String::new(),
            created: 0,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            used_by: if used { vec!["web".into()] } else { Vec::new() },
            size: None,
            options: BTreeMap::new(),
            anonymous: false,
        }
    }

    #[test]
    fn filters_match_as_docker_does() {
        let a = volume("pgdata", true, &[("tier", "db")]);
        let b = volume("cache", false, &[("tier", "web"), ("tmp", "")]);
        let f = |items: &[&str]| {
            VolumeFilter::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
        };
        assert!(f(&["dangling=true"]).matches(&b) && !f(&["dangling=true"]).matches(&a));
        assert!(f(&["dangling=false"]).matches(&a));
        assert!(f(&["name=data"]).matches(&a) && !f(&["name=data"]).matches(&b));
        assert!(f(&["label=tier=db"]).matches(&a) && !f(&["label=tier=db"]).matches(&b));
        assert!(f(&["label=tmp"]).matches(&b) && !f(&["label=tmp"]).matches(&a));
        assert!(!f(&["name=cache", "dangling=false"]).matches(&b));
        for bad in ["dangling=maybe", "colour=red", "name"] {
            let err = VolumeFilter::parse(&[bad.to_string()])
                .unwrap_err()
                .to_string();
            assert!(err.contains(bad.split('=').next().unwrap()), "{err}");
        }
    }
}
