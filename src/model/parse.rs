//! Docker-style option values turned into domain types: `-p`, `-v`, `--mount`, `--memory`,
//! `--cpus`, `--restart`, `--since`, `--security-opt`. Shared by the CLI and the TUI's run dialog; each error
//! names the value and the accepted form.

use super::{Invalid, Mount, MountKind, PortMapping, Protocol, RestartPolicy};

type Result<T> = std::result::Result<T, Invalid>;

fn bad(what: &str, value: &str, form: &str) -> Invalid {
    Invalid::new(format!("invalid {what} {value:?}: {form}"))
}

const PORT_FORM: &str = "write [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp] or CONTAINER_PORT[/PROTO], e.g. 8080:80 or 127.0.0.1:53:53/udp";

fn port_number(s: &str, value: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(bad("port", value, PORT_FORM)),
    }
}

/// `-p [ip:][host:]container[/proto]`. An empty host port (`127.0.0.1::80`) asks for any free one,
/// written as port 0.
pub fn port(value: &str) -> Result<PortMapping> {
    let (addr, proto) = match value.rsplit_once('/') {
        Some((a, p)) => (a, p),
        None => (value, "tcp"),
    };
    let protocol = match proto {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        _ => return Err(bad("port", value, PORT_FORM)),
    };
    // IPv6 host addresses come in brackets: [::1]:8080:80.
    let (ip, rest) = if let Some(r) = addr.strip_prefix('[') {
        let (ip, rest) = r
            .split_once("]:")
            .ok_or_else(|| bad("port", value, PORT_FORM))?;
        (Some(ip.to_string()), rest)
    } else {
        let parts: Vec<&str> = addr.split(':').collect();
        match parts.len() {
            1 | 2 => (None, addr),
            3 => (Some(parts[0].to_string()), &addr[parts[0].len() + 1..]),
            _ => return Err(bad("port", value, PORT_FORM)),
        }
    };
    if let Some(ip) = &ip {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(bad("port", value, PORT_FORM));
        }
    }
    let (host_port, container_port) = match rest.split_once(':') {
        Some((h, c)) => (
            if h.is_empty() {
                Some(0)
            } else {
                Some(port_number(h, value)?)
            },
            port_number(c, value)?,
        ),
        None if ip.is_none() => (None, port_number(rest, value)?),
        None => return Err(bad("port", value, PORT_FORM)),
    };
    Ok(PortMapping {
        host_ip: ip.or_else(|| host_port.map(|_| "0.0.0.0".to_string())),
        host_port,
        container_port,
        protocol,
    })
}

/// `-p` with port ranges as Docker takes them (`8000-8002:80-82`, `127.0.0.1::80-81`,
/// `80-81/udp`): one mapping per port. A host range must be as long as the container's.
pub fn ports(value: &str) -> Result<Vec<PortMapping>> {
    let (addr, proto) = value.rsplit_once('/').unwrap_or((value, "tcp"));
    if !addr.contains('-') || addr.starts_with('[') {
        return Ok(vec![port(value)?]);
    }
    let (head, container) = addr.rsplit_once(':').unwrap_or(("", addr));
    let (ip, host) = match head.rsplit_once(':') {
        Some((ip, h)) => (Some(ip), h),
        None => (None, head),
    };
    let range = |r: &str| -> Result<(u16, u16)> {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        let (a, b) = (port_number(a, value)?, port_number(b, value)?);
        if a > b {
            return Err(bad(
                "port",
                value,
                "a range goes from low to high, e.g. 8000-8002",
            ));
        }
        Ok((a, b))
    };
    let (c1, c2) = range(container)?;
    let hosts = if host.is_empty() {
        None
    } else {
        let (h1, h2) = range(host)?;
        if h2 - h1 != c2 - c1 {
            return Err(bad(
                "port",
                value,
                "the host range must be as long as the container range, e.g. 8000-8001:80-81",
            ));
        }
        Some(h1)
    };
    (0..=c2 - c1)
        .map(|i| {
            let host = hosts.map(|h| (h + i).to_string()).unwrap_or_default();
            let single = match (ip, hosts) {
                (Some(ip), _) => format!("{ip}:{host}:{}/{proto}", c1 + i),
                (None, Some(_)) => format!("{host}:{}/{proto}", c1 + i),
                (None, None) => format!("{}/{proto}", c1 + i),
            };
            port(&single).map_err(|_| bad("port", value, PORT_FORM))
        })
        .collect()
}

const VOLUME_FORM: &str =
    "write /host/path:/container/path[:ro], NAME:/container/path[:ro] or /container/path";

/// `-v SOURCE:TARGET[:ro|rw]` (a source starting with `/` is a bind mount, else a named
/// volume) or `-v TARGET` (an anonymous volume, named by the backend; source left empty).
pub fn volume(value: &str) -> Result<Mount> {
    let parts: Vec<&str> = value.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, None),
        [s, t] => (*s, *t, None),
        [s, t, m] => (*s, *t, Some(*m)),
        _ => return Err(bad("volume", value, VOLUME_FORM)),
    };
    if !target.starts_with('/') {
        return Err(bad("volume", value, VOLUME_FORM));
    }
    let read_only = match mode {
        None | Some("rw") => false,
        Some("ro") => true,
        Some(_) => return Err(bad("volume", value, VOLUME_FORM)),
    };
    let kind = if source.starts_with('/') {
        MountKind::Bind
    } else {
        if !source.is_empty() && !valid_name(source) {
            return Err(bad("volume", value, VOLUME_NAME_RULE));
        }
        MountKind::Volume
    };
    Ok(Mount::new(kind, source, target, read_only))
}

const MOUNT_FORM: &str = "write type=bind|volume|tmpfs,source=…,target=/path[,readonly][,tmpfs-size=BYTES][,tmpfs-mode=OCTAL]";

/// `--mount type=bind,source=/a,target=/b,readonly` (and `tmpfs-size=`, `tmpfs-mode=` for a
/// tmpfs).
pub fn mount(value: &str) -> Result<Mount> {
    let mut kind = MountKind::Volume;
    let mut source = String::new();
    let mut target = String::new();
    let mut read_only = false;
    let mut options = Vec::new();
    for field in value.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        match k {
            "type" => {
                kind = match v {
                    "bind" => MountKind::Bind,
                    "volume" => MountKind::Volume,
                    "tmpfs" => MountKind::Tmpfs,
                    _ => return Err(bad("mount", value, MOUNT_FORM)),
                }
            }
            "source" | "src" => source = v.to_string(),
            "target" | "destination" | "dst" => target = v.to_string(),
            "readonly" | "ro" => read_only = matches!(v, "" | "true" | "1"),
            "tmpfs-size" => options.push(format!("size={}", size("tmpfs-size", v)?)),
            "tmpfs-mode" if u32::from_str_radix(v, 8).is_ok_and(|m| m <= 0o7777) => {
                options.push(format!("mode={v}"))
            }
            _ => return Err(bad("mount", value, MOUNT_FORM)),
        }
    }
    if !target.starts_with('/')
        || (kind == MountKind::Bind && !source.starts_with('/'))
        || (kind != MountKind::Tmpfs && !options.is_empty())
        || (kind == MountKind::Tmpfs && !source.is_empty())
    {
        return Err(bad("mount", value, MOUNT_FORM));
    }
    if kind == MountKind::Volume && !source.is_empty() && !valid_name(&source) {
        return Err(bad("mount", value, VOLUME_NAME_RULE));
    }
    let mut m = Mount::new(kind, &source, &target, read_only);
    m.options = options.join(",");
    Ok(m)
}

const VOLUME_NAME_RULE: &str =
    "a volume name is letters, digits, '_', '.' and '-'; a host path starts with /";

const TMPFS_FORM: &str =
    "write /container/path[:OPTIONS], with options such as size=64m,mode=1777,uid=N,gid=N,noexec";

/// `--tmpfs /path[:size=64m,mode=1777,…]`: a tmpfs mount with the options tmpfs and mount
/// take (checked here, so a typo is refused before anything is made).
pub fn tmpfs(value: &str) -> Result<Mount> {
    let (target, opts) = value.split_once(':').unwrap_or((value, ""));
    if !target.starts_with('/') || target == "/" {
        return Err(bad("tmpfs", value, TMPFS_FORM));
    }
    let mut read_only = false;
    let mut options = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        let (k, v) = o.split_once('=').unwrap_or((o, ""));
        let ok = match k {
            "ro" => {
                read_only = true;
                true
            }
            "rw" => true,
            "exec" | "noexec" | "suid" | "nosuid" | "dev" | "nodev" | "atime" | "noatime"
            | "relatime" | "strictatime" | "nodiratime" => v.is_empty(),
            "size" => {
                bytes(v).is_some() || v.strip_suffix('%').is_some_and(|p| p.parse::<u8>().is_ok())
            }
            "mode" => u32::from_str_radix(v, 8).is_ok_and(|m| m <= 0o7777),
            "uid" | "gid" | "nr_inodes" | "nr_blocks" => v.parse::<u64>().is_ok(),
            _ => false,
        };
        if !ok {
            return Err(bad("tmpfs", value, TMPFS_FORM));
        }
        if k != "ro" && k != "rw" {
            options.push(o.to_string());
        }
    }
    let mut m = Mount::new(MountKind::Tmpfs, "", target, read_only);
    m.options = options.join(",");
    Ok(m)
}

/// `--ip 10.5.0.9`: an IPv4 address.
pub fn ipv4(value: &str) -> Result<std::net::Ipv4Addr> {
    value
        .parse()
        .map_err(|_| Invalid::new(format!("invalid --ip {value:?}: write an IPv4 address")))
}

/// `--volumes-from NAME[:ro|rw]`: the container and whether its mounts become read-only
/// (`None` keeps each mount's own mode).
pub fn volumes_from(value: &str) -> Result<(String, Option<bool>)> {
    let (name, mode) = match value.split_once(':') {
        None => (value, None),
        Some((n, "ro")) => (n, Some(true)),
        Some((n, "rw")) => (n, Some(false)),
        Some(_) => {
            return Err(bad(
                "volumes-from",
                value,
                "write CONTAINER or CONTAINER:ro|rw",
            ));
        }
    };
    if name.is_empty() {
        return Err(bad(
            "volumes-from",
            value,
            "write CONTAINER or CONTAINER:ro|rw",
        ));
    }
    Ok((name.to_string(), mode))
}

/// `--memory 512m`: a number with an optional b, k, m or g suffix.
pub fn memory(value: &str) -> Result<u64> {
    let form = || bad("memory limit", value, "write a size such as 512m or 2g");
    match bytes(value) {
        Some(b) if b < 6 << 20 => Err(bad("memory limit", value, "the minimum is 6m")),
        Some(b) => Ok(b),
        None => Err(form()),
    }
}

/// `--mount …,tmpfs-size=64m`: a size in bytes, with an optional k, m or g.
pub fn size(what: &str, value: &str) -> Result<u64> {
    bytes(value).ok_or_else(|| bad(what, value, "write a size such as 65536, 64k or 64m"))
}

/// A positive size with an optional b, k, m or g suffix.
fn bytes(value: &str) -> Option<u64> {
    let v = value.trim().to_ascii_lowercase();
    let v = v
        .strip_suffix('b')
        .filter(|r| r.ends_with(['k', 'm', 'g']))
        .unwrap_or(&v);
    let (num, mult) = match v.chars().last() {
        Some('k') => (&v[..v.len() - 1], 1u64 << 10),
        Some('m') => (&v[..v.len() - 1], 1 << 20),
        Some('g') => (&v[..v.len() - 1], 1 << 30),
        Some('b') => (&v[..v.len() - 1], 1),
        _ => (v, 1),
    };
    match num.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Some((n * mult as f64) as u64),
        _ => None,
    }
}

/// What one `--security-opt` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum SecurityOpt {
    /// No seccomp filter.
    SeccompUnconfined,
    /// A seccomp profile in Docker's format.
    SeccompProfile(serde_json::Value),
    /// no_new_privs on or off.
    NoNewPrivileges(bool),
}

const SECURITY_OPT_FORM: &str =
    "write seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false]";

/// One `--security-opt` value as the API carries it (a profile as its JSON text).
pub fn security_opt(value: &str) -> Result<SecurityOpt> {
    // Docker also takes the old `key:value` form.
    let (key, v) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .map_or((value, None), |(k, v)| (k, Some(v)));
    match (key, v) {
        ("seccomp", Some("unconfined")) => Ok(SecurityOpt::SeccompUnconfined),
        ("seccomp", Some(text)) if text.trim_start().starts_with('{') => serde_json::from_str(text)
            .map(SecurityOpt::SeccompProfile)
            .map_err(|e| {
                Invalid::new(format!(
                    "invalid seccomp profile: {e}; give a JSON profile in Docker's format"
                ))
            }),
        ("no-new-privileges", None | Some("true")) => Ok(SecurityOpt::NoNewPrivileges(true)),
        ("no-new-privileges", Some("false")) => Ok(SecurityOpt::NoNewPrivileges(false)),
        _ => Err(bad("--security-opt", value, SECURITY_OPT_FORM)),
    }
}

/// `--cpus 1.5` in billionths of a CPU.
pub fn cpus(value: &str) -> Result<u64> {
    match value.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n <= 1024.0 => Ok((n * 1e9).round() as u64),
        _ => Err(bad(
            "--cpus value",
            value,
            "write a positive number of CPUs such as 0.5 or 2",
        )),
    }
}

/// `--restart no|always|unless-stopped|on-failure[:N]`.
pub fn restart(value: &str) -> Result<RestartPolicy> {
    let form = "write no, always, unless-stopped, on-failure or on-failure:N";
    match value.split_once(':') {
        None => match value {
            "no" | "" => Ok(RestartPolicy::No),
            "always" => Ok(RestartPolicy::Always),
            "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            "on-failure" => Ok(RestartPolicy::OnFailure { max_retries: 0 }),
            _ => Err(bad("restart policy", value, form)),
        },
        Some(("on-failure", n)) => n
            .parse()
            .map(|max_retries| RestartPolicy::OnFailure { max_retries })
            .map_err(|_| bad("restart policy", value, form)),
        Some(_) => Err(bad(
            "restart policy",
            value,
            "only on-failure takes a count (on-failure:3)",
        )),
    }
}

/// `--since` for logs: Unix seconds, an RFC 3339 time, or a duration back from `now` (`10m`, `2h`).
pub fn since(value: &str, now: i64) -> Result<i64> {
    let form = "write a duration such as 10m or 2h, an RFC 3339 time, or Unix seconds";
    if let Ok(secs) = value.parse::<i64>() {
        return Ok(secs);
    }
    if let Some(t) = crate::util::time::parse_rfc3339(value) {
        return Ok(t);
    }
    let (num, unit) = value.split_at(
        value
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| bad("time", value, form))?,
    );
    let n: f64 = num.parse().map_err(|_| bad("time", value, form))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        _ => return Err(bad("time", value, form)),
    };
    Ok(now - secs as i64)
}

/// `-e KEY=value`, or `-e KEY` taking the value from the caller's environment.
pub fn env(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
    if value.is_empty() || value.starts_with('=') {
        return Err(bad("environment variable", value, "write KEY=value or KEY"));
    }
    Ok(if value.contains('=') {
        Some(value.to_string())
    } else {
        lookup(value).map(|v| format!("{value}={v}"))
    })
}

/// The variables of an `--env-file`: `KEY=value` lines, `KEY` alone taken from `lookup`,
/// blank lines and `#` comments skipped. `name` is the file, for errors.
pub fn env_file(
    text: &str,
    name: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = env(line, &lookup).map_err(|_| {
            bad(
                "environment file",
                &format!("{name}:{}", n + 1),
                "each line is KEY=value or KEY",
            )
        })?;
        out.extend(parsed);
    }
    Ok(out)
}

/// Docker's rule for container and volume names.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_follow_docker() {
        let p = port("8080:80").unwrap();
        assert_eq!(
            (p.host_ip.as_deref(), p.host_port, p.container_port),
            (Some("0.0.0.0"), Some(8080), 80)
        );
        let p = port("127.0.0.1:5353:53/udp").unwrap();
        assert_eq!(
            (p.host_ip.as_deref(), p.protocol),
            (Some("127.0.0.1"), Protocol::Udp)
        );
        let p = port("80").unwrap();
        assert_eq!((p.host_port, p.host_ip), (None, None));
        let p = port("127.0.0.1::80").unwrap();
        assert_eq!(p.host_port, Some(0));
        let p = port("[::1]:8080:80").unwrap();
        assert_eq!(p.host_ip.as_deref(), Some("::1"));
        for bad in [
            "",
            "http",
            "8080:80/icmp",
            "70000:80",
            "a.b.c.d:1:2",
            "1:2:3:4",
            "0:80",
        ] {
            let err = port(bad).unwrap_err().to_string();
            assert!(err.contains("CONTAINER_PORT"), "{bad}: {err}");
        }
    }

    #[test]
    fn port_ranges_expand_one_mapping_a_port() {
        let p = ports("8000-8002:80-82").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!((p[2].host_port, p[2].container_port), (Some(8002), 82));
        let p = ports("127.0.0.1::90-91/udp").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!((p[1].host_port, p[1].protocol), (Some(0), Protocol::Udp));
        assert_eq!(ports("70-71").unwrap()[1].host_port, None);
        assert_eq!(ports("8080:80").unwrap().len(), 1);
        for bad in ["8000-8001:80-82", "90-80", "1-x:1-2", "0-3"] {
            let err = ports(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn volumes_and_mounts_follow_docker() {
        let v = volume("/srv/data:/data:ro").unwrap();
        assert_eq!((v.kind, v.read_only), (MountKind::Bind, true));
        let v = volume("pgdata:/var/lib/postgresql/data").unwrap();
        assert_eq!(v.kind, MountKind::Volume);
        let v = volume("/scratch").unwrap();
        assert_eq!((v.kind, v.source.as_str()), (MountKind::Volume, ""));
        assert!(volume("data").is_err());
        assert!(volume("/a:/b:rx").is_err());
        assert!(volume("bad name:/x").is_err());
        let m = mount("type=bind,source=/a,target=/b,readonly").unwrap();
        assert_eq!((m.kind, m.read_only), (MountKind::Bind, true));
        assert_eq!(
            mount("type=tmpfs,target=/run").unwrap().kind,
            MountKind::Tmpfs
        );
        assert!(mount("type=bind,source=rel,target=/b").is_err());
        assert!(mount("type=nfs,target=/b").is_err());
        let t = mount("type=tmpfs,dst=/t,tmpfs-size=64k,tmpfs-mode=1770").unwrap();
        assert_eq!(t.options, "size=65536,mode=1770");
        assert!(mount("type=bind,src=/a,dst=/b,tmpfs-size=1m").is_err());
        assert!(mount("type=tmpfs,src=x,dst=/b").is_err());
        assert!(mount("type=tmpfs,dst=/t,tmpfs-mode=99999").is_err());
        let t = tmpfs("/run:rw,size=64m,mode=1777,noexec").unwrap();
        assert_eq!((t.kind, t.read_only), (MountKind::Tmpfs, false));
        assert_eq!(t.options, "size=64m,mode=1777,noexec");
        assert!(tmpfs("/ro:ro").unwrap().read_only);
        assert_eq!(tmpfs("/half:size=50%").unwrap().options, "size=50%");
        for bad in [
            "run",
            "/",
            "/t:size=big",
            "/t:mode=8",
            "/t:colour=red",
            "/t:uid=x",
        ] {
            let err = tmpfs(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
        assert_eq!(volumes_from("web").unwrap(), ("web".into(), None));
        assert_eq!(volumes_from("web:ro").unwrap(), ("web".into(), Some(true)));
        assert!(volumes_from("web:rx").is_err() && volumes_from(":ro").is_err());
    }

    #[test]
    fn limits_and_policies() {
        assert_eq!(memory("512m").unwrap(), 512 << 20);
        assert_eq!(memory("1G").unwrap(), 1 << 30);
        assert_eq!(memory("64mb").unwrap(), 64 << 20);
        assert!(memory("1k").unwrap_err().to_string().contains("minimum"));
        assert!(memory("lots").is_err());
        assert_eq!(cpus("1.5").unwrap(), 1_500_000_000);
        assert!(cpus("-1").is_err());
        assert_eq!(
            restart("on-failure:3").unwrap(),
            RestartPolicy::OnFailure { max_retries: 3 }
        );
        assert_eq!(
            restart("unless-stopped").unwrap(),
            RestartPolicy::UnlessStopped
        );
        assert!(restart("sometimes").is_err());
        assert!(restart("always:3").is_err());
        assert_eq!(since("10m", 1000).unwrap(), 400);
        assert_eq!(since("1700000000", 0).unwrap(), 1_700_000_000);
        assert_eq!(since("2023-11-14T22:13:20Z", 0).unwrap(), 1_700_000_000);
        assert!(since("yesterday", 0).is_err());
        assert_eq!(env("A=1", |_| None).unwrap().as_deref(), Some("A=1"));
        assert_eq!(
            env("HOME", |_| Some("/root".into())).unwrap().as_deref(),
            Some("HOME=/root")
        );
        assert_eq!(env("UNSET", |_| None).unwrap(), None);
        assert!(env("=x", |_| None).is_err());
    }
}
