//! `login`: checks credentials against a registry's `/v2/` endpoint (HTTP basic, or the
//! token service its challenge names) before storing them, as `docker login` does. The same
//! check and the same store serve every backend: the credentials stay on this side and go
//! with each pull and push.

use super::credentials::{AuthError, Credential, CredentialStore};
use super::errors::chain as error_chain;

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The registry refused the credentials.
    #[error("login to {0} was denied: check the user name and the password (or token)")]
    Denied(String),
    /// The registry could not be reached.
    #[error("cannot reach registry {registry}: {message}{hint}")]
    Unreachable {
        /// The registry.
        registry: String,
        /// What failed.
        message: String,
        /// What to check.
        hint: String,
    },
    /// The registry answered something a registry would not.
    #[error("registry {registry}: {message}")]
    Protocol {
        /// The registry.
        registry: String,
        /// What it said.
        message: String,
    },
    /// The argument names no registry.
    #[error("{0:?} names no registry: give it as HOST[:PORT], e.g. localhost:5000")]
    NoRegistry(String),
    /// The credentials could not be stored.
    #[error(transparent)]
    Store(#[from] AuthError),
}

/// The registry a `login`/`logout` argument names (`docker.io` when none is given).
pub fn registry_name(arg: Option<&str>) -> Result<String, LoginError> {
    let raw = arg.unwrap_or("docker.io");
    let host = raw
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    match host {
        "" => Err(LoginError::NoRegistry(raw.to_string())),
        "index.docker.io" | "registry-1.docker.io" => Ok("docker.io".into()),
        h => Ok(h.to_string()),
    }
}

/// Whether `registry` is reached over plain HTTP: one on loopback, as Docker has it, or one
/// of `insecure`.
pub fn plain_http(registry: &str, insecure: &[String]) -> bool {
    is_loopback(registry) || insecure.iter().any(|i| i == registry)
}

/// Whether a registry (`host[:port]`, IPv6 hosts in brackets) is on this machine's loopback.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((h, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (h.ends_with(']') || !h.contains(':')) =>
        {
            h
        }
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks `credential` against `registry` (over plain HTTP when `plain`); stores it in
/// `store` when the registry accepts it.
pub async fn login(
    registry: &str,
    credential: &Credential,
    plain: bool,
    store: &CredentialStore,
) -> Result<(), LoginError> {
    // rustls with ring, as the registry client and bollard use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let host = if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    };
    let scheme = if plain { "http" } else { "https" };
    let unreachable = |e: reqwest::Error| LoginError::Unreachable {
        registry: registry.to_string(),
        message: error_chain(&e),
        hint: if plain {
            String::new()
        } else {
            format!("; if {registry} serves plain HTTP, list it in engine.insecure_registries")
        },
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(unreachable)?;
    let url = format!("{scheme}://{host}/v2/");
    let denied = || LoginError::Denied(registry.to_string());
    let res = http
        .get(&url)
        .basic_auth(&credential.username, Some(&credential.password))
        .send()
        .await
        .map_err(unreachable)?;
    if res.status().is_success() {
        return Ok(store.set(registry, credential)?);
    }
    if res.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Err(LoginError::Protocol {
            registry: registry.to_string(),
            message: format!("{url} answered {}", res.status()),
        });
    }
    // A token service: the credentials are good when it hands out a token for them.
    let challenge = res
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let Some(params) = challenge.strip_prefix("Bearer ") else {
        return Err(denied());
    };
    let field = |name: &str| {
        params.split(',').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"').to_string())
        })
    };
    let realm = field("realm").ok_or_else(denied)?;
    let mut query = Vec::new();
    if let Some(service) = field("service") {
        query.push(("service", service));
    }
    let res = http
        .get(&realm)
        .query(&query)
        .basic_auth(&credential.username, Some(&credential.password))
        .send()
        .await
        .map_err(unreachable)?;
    if !res.status().is_success() {
        return Err(denied());
    }
    Ok(store.set(registry, credential)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_named_as_docker_names_them() {
        assert_eq!(registry_name(None).unwrap(), "docker.io");
        assert_eq!(
            registry_name(Some("https://index.docker.io/v1/")).unwrap(),
            "docker.io"
        );
        assert_eq!(
            registry_name(Some("localhost:5000")).unwrap(),
            "localhost:5000"
        );
        assert!(registry_name(Some("https://")).is_err());
    }

    #[test]
    fn loopback_and_listed_registries_are_plain_http() {
        let none: &[String] = &[];
        assert!(plain_http("localhost:5000", none));
        assert!(plain_http("127.0.0.1:5000", none));
        assert!(plain_http("[::1]:5000", none));
        assert!(plain_http("[::1]", none));
        assert!(plain_http("localhost", none));
        assert!(!plain_http("[2001:db8::1]:5000", none));
        assert!(!plain_http("registry.example:5000", none));
        assert!(plain_http(
            "registry.example:5000",
            &["registry.example:5000".to_string()]
        ));
    }
}
