//! Image references by Docker's rules: `[domain[:port]/]path[:tag][@digest]`, normalised the
//! way Docker does (`busybox` → `docker.io/library/busybox:latest`). A refused reference names
//! the rule it broke.

use std::fmt;

/// Docker Hub, the default registry.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The default tag when neither a tag nor a digest is given.
pub const DEFAULT_TAG: &str = "latest";
/// The longest repository name Docker accepts.
const NAME_MAX: usize = 255;

/// Why a reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference {reference:?}: {rule}")]
pub struct ReferenceError {
    /// What was given.
    pub reference: String,
    /// The rule it broke.
    pub rule: String,
}

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host (and port), e.g. `docker.io`, `localhost:5000`.
    pub domain: String,
    /// Repository path, e.g. `library/busybox`.
    pub path: String,
    /// Tag; `latest` when neither tag nor digest was given.
    pub tag: Option<String>,
    /// Digest, e.g. `sha256:…`.
    pub digest: Option<String>,
}

fn is_alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn valid_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0] as char) || !is_alnum_lower(b[b.len() - 1] as char) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if is_alnum_lower(c) {
            i += 1;
            continue;
        }
        // A separator: ".", "_", "__", or any run of "-".
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i] as char) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn valid_domain_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

fn valid_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        // An IPv6 address in brackets.
        match rest.split_once(']') {
            Some((ip, port)) => {
                if ip.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                ("", port)
            }
            None => return false,
        }
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        }
    };
    let port_ok = match port.strip_prefix(':') {
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()),
        None => port.is_empty(),
    };
    port_ok && (s.starts_with('[') || host.split('.').all(valid_domain_component))
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `algorithm:hex`, with 64 hex digits for sha256.
fn valid_digest(s: &str) -> bool {
    match s.split_once(':') {
        Some(("sha256", hex)) => {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }
        Some((alg, hex)) => {
            !alg.is_empty()
                && alg.bytes().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || matches!(c, b'+' | b'.' | b'_' | b'-')
                })
                && hex.len() >= 32
                && hex.bytes().all(|c| c.is_ascii_hexdigit())
        }
        None => false,
    }
}

impl Reference {
    /// Parses and normalises a reference.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let refuse = |rule: &str| ReferenceError {
            reference: s.to_string(),
            rule: rule.to_string(),
        };
        if s.is_empty() {
            return Err(refuse("a reference cannot be empty"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !valid_digest(d) {
                    return Err(refuse(
                        "a digest is ALGORITHM:HEX, e.g. sha256: followed by 64 lowercase hex digits",
                    ));
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // The tag follows the last colon after the last slash (a colon before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(refuse(
                        "a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
                    ));
                }
                (&rest[..last_slash + i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(refuse("the repository name is missing"));
        }
        if name.len() > NAME_MAX {
            return Err(refuse(&format!(
                "a repository name is at most {NAME_MAX} characters"
            )));
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.starts_with('[') =>
            {
                if !valid_domain(first) {
                    return Err(refuse(
                        "a registry is a host name or IP address with an optional :PORT, e.g. localhost:5000",
                    ));
                }
                (first.to_string(), remainder.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(refuse("the repository name must be lowercase"));
        }
        if let Some(bad) = path.split('/').find(|c| !valid_path_component(c)) {
            return Err(refuse(&format!(
                "{bad:?} is not a valid path component: use lowercase letters and digits, separated by '.', '_', '__' or dashes"
            )));
        }
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag = if tag.is_none() && digest.is_none() {
            Some(DEFAULT_TAG.to_string())
        } else {
            tag
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// `domain/path`, e.g. `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The short form users type and Docker prints: `busybox:latest`, `localhost:5000/app:v1`.
    pub fn familiar(&self) -> String {
        self.with_suffix(self.familiar_name())
    }

    /// The short repository name without tag or digest: `busybox`, `localhost:5000/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.repository()
        }
    }

    /// The full form: `docker.io/library/busybox:latest`.
    pub fn full(&self) -> String {
        self.with_suffix(self.repository())
    }

    fn with_suffix(&self, mut name: String) -> String {
        if let Some(t) = &self.tag {
            name.push(':');
            name.push_str(t);
        }
        if let Some(d) = &self.digest {
            name.push('@');
            name.push_str(d);
        }
        name
    }

    /// Whether the registry is on this machine, reached over plain HTTP as Docker does.
    pub fn is_loopback_registry(&self) -> bool {
        crate::util::registry_login::is_loopback(&self.domain)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        let r = p("busybox");
        assert_eq!(r.full(), "docker.io/library/busybox:latest");
        assert_eq!(r.familiar(), "busybox:latest");
        assert_eq!(
            p("docker.io/library/busybox:1.36").familiar(),
            "busybox:1.36"
        );
        assert_eq!(p("bitnami/redis:7").full(), "docker.io/bitnami/redis:7");
        assert_eq!(p("library/busybox").familiar(), "busybox:latest");
    }

    #[test]
    fn registries_ports_tags_and_digests() {
        let r = p("localhost:5000/team/app:v1.2");
        assert_eq!(
            (r.domain.as_str(), r.path.as_str(), r.tag.as_deref()),
            ("localhost:5000", "team/app", Some("v1.2"))
        );
        assert!(r.is_loopback_registry());
        let r = p("127.0.0.1:5000/app");
        assert!(r.is_loopback_registry());
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r = p("[::1]:5000/app:1");
        assert_eq!(r.domain, "[::1]:5000");
        assert!(r.is_loopback_registry());
        assert!(!p("registry.example.com/app").is_loopback_registry());
        let digest = format!("sha256:{}", "ab".repeat(32));
        let r = p(&format!("busybox@{digest}"));
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(digest.as_str())));
        let r = p(&format!("busybox:1@{digest}"));
        assert_eq!(r.familiar(), format!("busybox:1@{digest}"));
        assert_eq!(p("x/a__b.c-d---e/f_g").path, "x/a__b.c-d---e/f_g");
    }

    #[test]
    fn bad_references_name_the_rule() {
        for (s, rule) in [
            ("", "cannot be empty"),
            ("Busybox", "must be lowercase"),
            ("busybox:", "a tag is"),
            ("busybox:-x", "a tag is"),
            ("busybox@sha256:abc", "a digest is"),
            ("bad..name", "not a valid path component"),
            ("a/-b", "not a valid path component"),
            ("-lead", "not a valid path component"),
            ("bad_host.:5000/x", "a registry is"),
            ("host:port/x", "a registry is"),
            (":tag", "repository name is missing"),
        ] {
            let err = Reference::parse(s).unwrap_err().to_string();
            assert!(err.contains(rule), "{s:?}: {err}");
            assert!(err.contains(&format!("{s:?}")), "{err}");
        }
        let long = format!("{}:1", "a".repeat(256));
        assert!(
            Reference::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("at most 255")
        );
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,6}([._-][a-z0-9]{1,6}){0,2}"
    }

    proptest! {
        #[test]
        fn valid_references_round_trip(
            domain in prop::option::of("[a-z]{1,8}\\.[a-z]{2,4}(:[0-9]{2,5})?"),
            // Without a registry, a first component with a dot would read as one, as in Docker.
            first in "[a-z0-9]{1,8}",
            parts in prop::collection::vec(component(), 0..3),
            tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        ) {
            let mut s = std::iter::once(first).chain(parts).collect::<Vec<_>>().join("/");
            if let Some(d) = &domain {
                s = format!("{d}/{s}");
            }
            if let Some(t) = &tag {
                s = format!("{s}:{t}");
            }
            let r = Reference::parse(&s).unwrap();
            prop_assert_eq!(Reference::parse(&r.full()).unwrap(), r.clone());
            prop_assert_eq!(Reference::parse(&r.familiar()).unwrap(), r.clone());
            prop_assert_eq!(r.tag.as_deref(), Some(tag.as_deref().unwrap_or("latest")));
        }

        #[test]
        fn any_text_is_parsed_or_refused_without_panicking(s in ".{0,80}") {
            if let Ok(r) = Reference::parse(&s) {
                // Whatever is accepted prints back to something that parses the same.
                prop_assert_eq!(Reference::parse(&r.full()).unwrap(), r);
            }
        }

        #[test]
        fn uppercase_repositories_are_refused(name in "[a-z]{0,5}[A-Z][a-zA-Z]{0,5}") {
            let err = Reference::parse(&name).unwrap_err();
            prop_assert!(err.rule.contains("lowercase") || err.rule.contains("path component"), "{}", err);
        }
    }
}
