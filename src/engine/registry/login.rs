//! `login`: checks credentials against a registry's `/v2/` endpoint (HTTP basic, or the
//! token service its challenge names) before storing them, as `docker login` does.

use super::{Credential, RegistryError, RegistrySettings, crypto, plain_http};
use crate::model::Reference;

/// The registry a `login`/`logout` argument names (`docker.io` when none is given).
pub fn registry_name(arg: Option<&str>) -> Result<String, RegistryError> {
    let raw = arg.unwrap_or("docker.io");
    let host = raw
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    match host {
        "" => Err(RegistryError::Protocol {
            registry: raw.to_string(),
            message: "give a registry as HOST[:PORT], e.g. localhost:5000".into(),
        }),
        "index.docker.io" | "registry-1.docker.io" => Ok("docker.io".into()),
        h => Ok(h.to_string()),
    }
}

/// A reference on `registry`, for the settings that depend on it (plain HTTP or not).
fn probe(registry: &str) -> Reference {
    Reference {
        domain: registry.to_string(),
        path: "library/probe".into(),
        tag: Some("latest".into()),
        digest: None,
    }
}

/// Checks `credential` against `registry`; stores it when the registry accepts it.
pub async fn login(
    registry: &str,
    credential: &Credential,
    settings: &RegistrySettings,
) -> Result<(), RegistryError> {
    crypto();
    let reference = probe(registry);
    let host = if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    };
    let scheme = if plain_http(&reference, settings) {
        "http"
    } else {
        "https"
    };
    let unreachable = |e: reqwest::Error| RegistryError::Unreachable {
        registry: registry.to_string(),
        message: super::error_chain(&e),
        hint: if scheme == "https" {
            format!("; if {registry} serves plain HTTP, list it in engine.insecure_registries")
        } else {
            String::new()
        },
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(unreachable)?;
    let url = format!("{scheme}://{host}/v2/");
    let denied = || RegistryError::Denied {
        action: "login to",
        reference: registry.to_string(),
        registry: registry.to_string(),
    };
    let res = http
        .get(&url)
        .basic_auth(&credential.username, Some(&credential.password))
        .send()
        .await
        .map_err(unreachable)?;
    if res.status().is_success() {
        return Ok(settings.credentials.set(registry, credential)?);
    }
    if res.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Err(RegistryError::Protocol {
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
    Ok(settings.credentials.set(registry, credential)?)
}
