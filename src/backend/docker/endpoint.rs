//! Which Docker-compatible endpoint to talk to: `docker`, `podman`, a URL, or a name from the
//! config file, with TLS files when given.

use std::path::{Path, PathBuf};

use crate::backend::error::{BackendError, Result};
use crate::config::{self, Config};

/// Client certificate files for a TLS endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificate.
    pub ca: PathBuf,
    /// Client certificate.
    pub cert: PathBuf,
    /// Client key.
    pub key: PathBuf,
}

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///path` or `tcp://host:port`.
    pub url: String,
    /// TLS files, for tcp endpoints that use TLS.
    pub tls: Option<TlsFiles>,
}

/// TLS files given on the command line (each may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsArgs {
    /// `--tlscacert`.
    pub ca: Option<PathBuf>,
    /// `--tlscert`.
    pub cert: Option<PathBuf>,
    /// `--tlskey`.
    pub key: Option<PathBuf>,
}

impl TlsArgs {
    fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }

    fn complete(&self, what: &str) -> Result<TlsFiles> {
        match (&self.ca, &self.cert, &self.key) {
            (Some(ca), Some(cert), Some(key)) => Ok(TlsFiles {
                ca: ca.clone(),
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => Err(BackendError::invalid(format!(
                "TLS for {what} needs all three of --tlscacert, --tlscert and --tlskey (or tlscacert, tlscert and tlskey in the config)"
            ))),
        }
    }
}

/// The socket the Podman service listens on: the rootless one when it exists, else the system one.
pub fn podman_socket() -> String {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        let rootless = Path::new(&dir).join("podman/podman.sock");
        if rootless.exists() {
            return format!("unix://{}", rootless.display());
        }
    }
    "unix:///run/podman/podman.sock".to_string()
}

/// Resolves `-H` (or the config's `general.endpoint`) into an endpoint.
pub fn resolve(name: &str, tls: &TlsArgs, config: &Config) -> Result<Endpoint> {
    let (url, mut files) = match name {
        "docker" => {
            let url = std::env::var("DOCKER_HOST")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
            // Docker's own variables for TLS.
            let files = match (
                std::env::var_os("DOCKER_TLS_VERIFY"),
                std::env::var_os("DOCKER_CERT_PATH"),
            ) {
                (Some(v), Some(dir)) if !v.is_empty() && url.starts_with("tcp://") => {
                    let dir = PathBuf::from(dir);
                    Some(TlsFiles {
                        ca: dir.join("ca.pem"),
                        cert: dir.join("cert.pem"),
                        key: dir.join("key.pem"),
                    })
                }
                _ => None,
            };
            (url, files)
        }
        "podman" => (podman_socket(), None),
        url if url.contains("://") => (url.to_string(), None),
        named => match config.endpoints.get(named) {
            Some(e) => {
                let files = TlsArgs {
                    ca: e.tlscacert.clone(),
                    cert: e.tlscert.clone(),
                    key: e.tlskey.clone(),
                };
                let files = if files.is_empty() {
                    None
                } else {
                    Some(files.complete(&format!("endpoint {named}"))?)
                };
                (e.host.clone(), files)
            }
            None => {
                let known: Vec<&str> = config.endpoints.keys().map(String::as_str).collect();
                return Err(BackendError::invalid(format!(
                    "unknown endpoint {named:?}: use docker, podman, unix:///path/to.sock, tcp://host:port{}",
                    if known.is_empty() {
                        " or a name defined in [endpoints] of the config file".to_string()
                    } else {
                        format!(" or one of the config's endpoints ({})", known.join(", "))
                    }
                )));
            }
        },
    };
    config::check_url(&url).map_err(BackendError::invalid)?;
    if !tls.is_empty() {
        files = Some(tls.complete(&url)?);
    }
    if files.is_some() && url.starts_with("unix://") {
        return Err(BackendError::invalid(format!(
            "TLS files were given for {url}, but TLS applies to tcp:// endpoints only"
        )));
    }
    Ok(Endpoint { url, tls: files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("test.toml"), crate::config::no_check).unwrap()
    }

    #[test]
    fn urls_names_and_tls_resolve() {
        let c = config(
            "[endpoints.box]\nhost = \"tcp://10.0.0.5:2376\"\ntlscacert = \"/c/ca.pem\"\ntlscert = \"/c/cert.pem\"\ntlskey = \"/c/key.pem\"\n",
        );
        let none = TlsArgs::default();
        let e = resolve("unix:///tmp/d.sock", &none, &c).unwrap();
        assert_eq!((e.url.as_str(), e.tls), ("unix:///tmp/d.sock", None));
        let e = resolve("box", &none, &c).unwrap();
        assert_eq!(e.url, "tcp://10.0.0.5:2376");
        assert_eq!(e.tls.unwrap().key, PathBuf::from("/c/key.pem"));
        assert!(
            resolve("podman", &none, &c)
                .unwrap()
                .url
                .ends_with("podman.sock")
        );
    }

    #[test]
    fn bad_endpoints_say_what_is_accepted() {
        let c = config("");
        let none = TlsArgs::default();
        let err = resolve("nosuch", &none, &c).unwrap_err().to_string();
        assert!(err.contains("unknown endpoint \"nosuch\""), "{err}");
        let err = resolve("ftp://x:1", &none, &c).unwrap_err().to_string();
        assert!(err.contains("unknown scheme"), "{err}");
        let half = TlsArgs {
            ca: Some("/ca".into()),
            ..TlsArgs::default()
        };
        let err = resolve("tcp://h:2376", &half, &c).unwrap_err().to_string();
        assert!(err.contains("all three"), "{err}");
        let full = TlsArgs {
            ca: Some("/ca".into()),
            cert: Some("/c".into()),
            key: Some("/k".into()),
        };
        let err = resolve("unix:///x.sock", &full, &c)
            .unwrap_err()
            .to_string();
        assert!(err.contains("tcp:// endpoints only"), "{err}");
    }
}
