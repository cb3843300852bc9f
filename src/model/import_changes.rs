//! Dockerfile instructions accepted by `import --change`: CMD, ENTRYPOINT, ENV, WORKDIR, USER,
//! EXPOSE, LABEL, STOPSIGNAL, VOLUME. Parsed once here for the backends that apply them
//! themselves.

use std::collections::BTreeMap;

use super::Invalid;

type Result<T> = std::result::Result<T, Invalid>;

/// What the changes set in an image config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageChanges {
    /// CMD.
    pub cmd: Option<Vec<String>>,
    /// ENTRYPOINT.
    pub entrypoint: Option<Vec<String>>,
    /// ENV, in order.
    pub env: Vec<String>,
    /// WORKDIR.
    pub working_dir: Option<String>,
    /// USER.
    pub user: Option<String>,
    /// EXPOSE, as `80/tcp`.
    pub exposed_ports: Vec<String>,
    /// LABEL.
    pub labels: BTreeMap<String, String>,
    /// STOPSIGNAL.
    pub stop_signal: Option<String>,
    /// VOLUME.
    pub volumes: Vec<String>,
}

const ACCEPTED: &str = "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR";

/// `["a", "b"]` (exec form) or `a b` (shell form, run by /bin/sh -c).
fn command(args: &str, change: &str) -> Result<Vec<String>> {
    let args = args.trim();
    if args.starts_with('[') {
        serde_json::from_str::<Vec<String>>(args).map_err(|e| {
            Invalid::new(format!(
                "{change:?}: the exec form must be a JSON array of strings ({e})"
            ))
        })
    } else {
        Ok(vec!["/bin/sh".into(), "-c".into(), args.to_string()])
    }
}

/// `KEY=value KEY2=value2` or the old `KEY value` form.
fn pairs(args: &str, change: &str) -> Result<Vec<(String, String)>> {
    let args = args.trim();
    if !args.contains('=') {
        return match args.split_once(char::is_whitespace) {
            Some((k, v)) => Ok(vec![(k.to_string(), v.trim().to_string())]),
            None => Err(Invalid::new(format!("{change:?}: write KEY=value"))),
        };
    }
    args.split_whitespace()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.trim_matches('"').to_string())),
            _ => Err(Invalid::new(format!("{change:?}: write KEY=value"))),
        })
        .collect()
}

impl ImageChanges {
    /// The `config` section of an image config with these settings (Docker's field names).
    pub fn config_json(&self) -> serde_json::Value {
        let exposed: BTreeMap<&String, serde_json::Value> = self
            .exposed_ports
            .iter()
            .map(|p| (p, serde_json::json!({})))
            .collect();
        let volumes: BTreeMap<&String, serde_json::Value> = self
            .volumes
            .iter()
            .map(|v| (v, serde_json::json!({})))
            .collect();
        let mut c = serde_json::json!({
            "Env": if self.env.is_empty() { serde_json::Value::Null } else { serde_json::json!(self.env) },
            "Cmd": self.cmd,
            "Entrypoint": self.entrypoint,
            "WorkingDir": self.working_dir.clone().unwrap_or_default(),
            "ExposedPorts": exposed,
            "Labels": self.labels,
        });
        if let Some(u) = &self.user {
            c["User"] = serde_json::json!(u);
        }
        if let Some(s) = &self.stop_signal {
            c["StopSignal"] = serde_json::json!(s);
        }
        if !volumes.is_empty() {
            c["Volumes"] = serde_json::json!(volumes);
        }
        c
    }
}

impl ImageChanges {
    /// Applies the changes over an existing `config` section (Docker's field names): what
    /// they set replaces, environment variables and labels are merged by name, ports and
    /// volumes added.
    pub fn apply(&self, config: &mut serde_json::Value) {
        use serde_json::{Value, json};
        if !config.is_object() {
            *config = json!({});
        }
        if let Some(c) = &self.cmd {
            config["Cmd"] = json!(c);
        }
        if let Some(e) = &self.entrypoint {
            config["Entrypoint"] = json!(e);
        }
        if !self.env.is_empty() {
            let mut env: Vec<String> = config["Env"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for e in &self.env {
                let key = e.split('=').next().unwrap_or(e);
                match env.iter_mut().find(|x| x.split('=').next() == Some(key)) {
                    Some(slot) => *slot = e.clone(),
                    None => env.push(e.clone()),
                }
            }
            config["Env"] = json!(env);
        }
        if let Some(w) = &self.working_dir {
            config["WorkingDir"] = json!(w);
        }
        if let Some(u) = &self.user {
            config["User"] = json!(u);
        }
        if let Some(s) = &self.stop_signal {
            config["StopSignal"] = json!(s);
        }
        let mut merge = |key: &str, items: Vec<(String, Value)>| {
            if items.is_empty() {
                return;
            }
            if !config[key].is_object() {
                config[key] = json!({});
            }
            for (k, v) in items {
                config[key][k] = v;
            }
        };
        merge(
            "ExposedPorts",
            self.exposed_ports
                .iter()
                .map(|p| (p.clone(), json!({})))
                .collect(),
        );
        merge(
            "Volumes",
            self.volumes
                .iter()
                .map(|p| (p.clone(), json!({})))
                .collect(),
        );
        merge(
            "Labels",
            self.labels
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        );
    }
}

/// Parses `--change` values; an unknown or malformed instruction is refused by name.
pub fn parse(changes: &[String]) -> Result<ImageChanges> {
    let mut out = ImageChanges::default();
    for change in changes {
        let (instruction, args) = change
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((change.trim(), ""));
        if args.trim().is_empty() {
            return Err(Invalid::new(format!(
                "{change:?}: {instruction} needs an argument"
            )));
        }
        match instruction.to_ascii_uppercase().as_str() {
            "CMD" => out.cmd = Some(command(args, change)?),
            "ENTRYPOINT" => out.entrypoint = Some(command(args, change)?),
            "ENV" => {
                for (k, v) in pairs(args, change)? {
                    out.env.retain(|e| !e.starts_with(&format!("{k}=")));
                    out.env.push(format!("{k}={v}"));
                }
            }
            "LABEL" => out.labels.extend(pairs(args, change)?),
            "WORKDIR" => out.working_dir = Some(args.trim().to_string()),
            "USER" => out.user = Some(args.trim().to_string()),
            "STOPSIGNAL" => out.stop_signal = Some(args.trim().to_string()),
            "VOLUME" => out.volumes.extend(command(args, change).map(|v| {
                if v.first().map(String::as_str) == Some("/bin/sh") {
                    args.split_whitespace().map(str::to_string).collect()
                } else {
                    v
                }
            })?),
            "EXPOSE" => {
                for port in args.split_whitespace() {
                    let (num, proto) = port.split_once('/').unwrap_or((port, "tcp"));
                    if num.parse::<u16>().is_err() || !matches!(proto, "tcp" | "udp" | "sctp") {
                        return Err(Invalid::new(format!(
                            "{change:?}: {port} is not a port; write e.g. 80 or 53/udp"
                        )));
                    }
                    out.exposed_ports.push(format!("{num}/{proto}"));
                }
            }
            other => {
                return Err(Invalid::new(format!(
                    "{change:?}: {other} cannot be changed on import; accepted: {ACCEPTED}"
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(items: &[&str]) -> Result<ImageChanges> {
        parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn instructions_apply() {
        let c = p(&[
            "CMD [\"sh\", \"-c\", \"echo hi\"]",
            "ENTRYPOINT /init",
            "ENV A=1 B=two",
            "ENV A 3",
            "WORKDIR /app",
            "EXPOSE 80 53/udp",
            "LABEL maintainer=me",
        ])
        .unwrap();
        assert_eq!(c.cmd.unwrap(), ["sh", "-c", "echo hi"]);
        assert_eq!(c.entrypoint.unwrap(), ["/bin/sh", "-c", "/init"]);
        assert_eq!(c.env, ["B=two", "A=3"]);
        assert_eq!(c.working_dir.as_deref(), Some("/app"));
        assert_eq!(c.exposed_ports, ["80/tcp", "53/udp"]);
        assert_eq!(c.labels["maintainer"], "me");
    }

    #[test]
    fn bad_instructions_are_named() {
        for (change, needle) in [
            ("RUN make", "accepted: CMD"),
            ("CMD [sh", "JSON array"),
            ("EXPOSE http", "not a port"),
            ("WORKDIR", "needs an argument"),
            ("ENV =x", "KEY=value"),
        ] {
            let err = p(&[change]).unwrap_err().to_string();
            assert!(err.contains(needle), "{change}: {err}");
        }
    }
}
