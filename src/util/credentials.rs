//! Registry credentials: what `dockhand login` stores (`$XDG_CONFIG_HOME/dockhand/auth.json`,
//! mode 0600) and what Docker's `~/.docker/config.json` holds, both in Docker's
//! `{"auths": {"REGISTRY": {"auth": base64("user:password")}}}` form. Credential helpers
//! (`credsStore`) are not consulted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// User name.
    pub username: String,
    /// Password or access token.
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    auth: String,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

/// The key Docker files Docker Hub's credentials under.
const HUB_KEY: &str = "https://index.docker.io/v1/";

/// The key a registry's credentials are filed under.
pub fn key_for(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => HUB_KEY.to_string(),
        other => other.to_string(),
    }
}

/// Where registries' credentials are read from and written to.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    /// dockhand's own file (written by `login`).
    pub own: PathBuf,
    /// Docker's config file (read only).
    pub docker: Option<PathBuf>,
}

/// Why credentials could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file is not valid.
    #[error("{path} is not a valid credentials file: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Default for CredentialStore {
    fn default() -> Self {
        let own = dirs::config_dir()
            .unwrap_or_else(|| PathBuf::from("/root/.config"))
            .join("dockhand/auth.json");
        let docker = std::env::var_os("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| dirs::home_dir().map(|h| h.join(".docker/config.json")));
        CredentialStore { own, docker }
    }
}

fn read_file(path: &Path) -> Result<AuthFile, AuthError> {
    match std::fs::read(path) {
        Ok(data) => serde_json::from_slice(&data).map_err(|e| AuthError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuthFile::default()),
        Err(source) => Err(AuthError::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn decode(entry: &AuthEntry) -> Option<Credential> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(entry.auth.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some(Credential {
        username: user.to_string(),
        password: pass.to_string(),
    })
}

impl CredentialStore {
    /// Credentials for `registry`: dockhand's own first, then Docker's.
    pub fn get(&self, registry: &str) -> Result<Option<Credential>, AuthError> {
        let key = key_for(registry);
        for path in std::iter::once(&self.own).chain(self.docker.as_ref()) {
            let file = read_file(path)?;
            let found = file.auths.get(&key).or_else(|| {
                // Docker also files entries under URLs ("https://host/v1/").
                file.auths.iter().find_map(|(k, v)| {
                    let host = k
                        .trim_start_matches("https://")
                        .trim_start_matches("http://")
                        .split('/')
                        .next()
                        .unwrap_or("");
                    (host == key).then_some(v)
                })
            });
            if let Some(c) = found.and_then(decode) {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Stores credentials for `registry` in dockhand's own file (mode 0600).
    pub fn set(&self, registry: &str, credential: &Credential) -> Result<(), AuthError> {
        let mut file = read_file(&self.own)?;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", credential.username, credential.password));
        file.auths.insert(
            key_for(registry),
            AuthEntry {
                auth,
                rest: BTreeMap::new(),
            },
        );
        self.write(&file)
    }

    /// Forgets the credentials for `registry`; false when there were none.
    pub fn remove(&self, registry: &str) -> Result<bool, AuthError> {
        let mut file = read_file(&self.own)?;
        let had = file.auths.remove(&key_for(registry)).is_some();
        if had {
            self.write(&file)?;
        }
        Ok(had)
    }

    fn write(&self, file: &AuthFile) -> Result<(), AuthError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let io = |action, source| AuthError::Io {
            action,
            path: self.own.clone(),
            source,
        };
        if let Some(dir) = self.own.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("cannot create the directory of", e))?;
        }
        let tmp = self.own.with_extension("json.tmp");
        let data = serde_json::to_vec_pretty(file).expect("credentials serialise");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io("cannot write", e))?;
        f.write_all(&data).map_err(|e| io("cannot write", e))?;
        f.sync_all().map_err(|e| io("cannot write", e))?;
        std::fs::rename(&tmp, &self.own).map_err(|e| io("cannot write", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn own_credentials_come_first_and_docker_hub_is_filed_as_docker_does() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore {
            own: dir.path().join("dockhand/auth.json"),
            docker: Some(dir.path().join("docker.json")),
        };
        std::fs::write(
            dir.path().join("docker.json"),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="},"https://reg.example:5000/v1/":{"auth":"dTpw"}},"credsStore":"desktop"}"#,
        )
        .unwrap();
        assert_eq!(store.get("docker.io").unwrap().unwrap().username, "hub");
        assert_eq!(
            store.get("reg.example:5000").unwrap().unwrap().password,
            "p"
        );
        assert!(store.get("localhost:5000").unwrap().is_none());

        let mine = Credential {
            username: "me".into(),
            password: "pw:with:colons".into(),
        };
        store.set("docker.io", &mine).unwrap();
        assert_eq!(store.get("docker.io").unwrap().unwrap(), mine);
        let mode = std::fs::metadata(&store.own).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(store.remove("docker.io").unwrap());
        assert!(!store.remove("docker.io").unwrap());
        assert_eq!(store.get("docker.io").unwrap().unwrap().username, "hub");
        assert!(!format!("{mine:?}").contains("pw"), "no password in Debug");
    }
}
