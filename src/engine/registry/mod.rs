//! Registries: pulling images from, and pushing them to, any OCI/Docker registry v2 through
//! oci-client (token and basic auth, manifest lists resolved to this platform), and the
//! credentials `login` stores. Registries on loopback are reached over plain HTTP as Docker
//! does; others only over HTTPS unless listed in `engine.insecure_registries`.
//!
//! This is the async edge of the engine: transfers run on tokio, while writing blobs and
//! unpacking layers run on blocking threads against the synchronous store.

pub mod pull;
pub mod push;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;

use crate::engine::image::ImageError;
use crate::engine::store::StoreError;
use crate::model::Reference;
pub use crate::util::credentials::{AuthError, Credential, CredentialStore};

/// How registries are reached.
#[derive(Debug, Clone, Default)]
pub struct RegistrySettings {
    /// Registries (`host[:port]`) reached over plain HTTP besides those on loopback.
    pub insecure: Vec<String>,
    /// Where credentials are kept.
    pub credentials: CredentialStore,
    /// Layers downloaded at once.
    pub parallel: usize,
}

/// Why a registry transfer failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry refused the credentials, or asks for some.
    #[error(
        "{action} {reference} was denied by {registry}: the repository does not exist or needs `dockhand login {registry}`"
    )]
    Denied {
        /// "pull access to", "push access to".
        action: &'static str,
        /// The image.
        reference: String,
        /// The registry.
        registry: String,
    },
    /// The registry has no such image.
    #[error("manifest for {0} not found: the tag or digest does not exist in the registry")]
    NotFound(String),
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
    /// The registry answered something else that is wrong.
    #[error("registry {registry}: {message}")]
    Protocol {
        /// The registry.
        registry: String,
        /// What it said.
        message: String,
    },
    /// The image has no image for this machine.
    #[error("{reference} has no image for linux/{arch}")]
    NoPlatform {
        /// The image.
        reference: String,
        /// This machine's architecture.
        arch: String,
    },
    /// Storing failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// Credentials could not be read or written.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        RegistryError::Image(ImageError::Store(e))
    }
}

impl From<crate::engine::layer::LayerError> for RegistryError {
    fn from(e: crate::engine::layer::LayerError) -> Self {
        RegistryError::Image(ImageError::Layer(e))
    }
}

/// Whether a registry is reached over plain HTTP.
pub fn plain_http(reference: &Reference, settings: &RegistrySettings) -> bool {
    crate::util::registry_login::plain_http(&reference.domain, &settings.insecure)
}

/// Installs the TLS crypto provider once (rustls with ring, as bollard uses).
fn crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for the registry of `reference`.
pub(crate) fn client(reference: &Reference, settings: &RegistrySettings) -> oci_client::Client {
    crypto();
    let protocol = if plain_http(reference, settings) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    oci_client::Client::new(ClientConfig {
        protocol,
        platform_resolver: Some(Box::new(|entries| {
            let arch = crate::engine::image::archive::host_arch();
            entries
                .iter()
                .find(|e| {
                    e.platform.as_ref().is_some_and(|p| {
                        p.os.to_string() == "linux" && p.architecture.to_string() == arch
                    })
                })
                .map(|e| e.digest.clone())
        })),
        max_concurrent_download: settings.parallel.max(1),
        max_concurrent_upload: settings.parallel.max(1),
        ..ClientConfig::default()
    })
}

/// The oci-client form of a reference.
pub(crate) fn oci_reference(reference: &Reference) -> oci_client::Reference {
    match &reference.digest {
        Some(d) => oci_client::Reference::with_digest(
            reference.domain.clone(),
            reference.path.clone(),
            d.clone(),
        ),
        None => oci_client::Reference::with_tag(
            reference.domain.clone(),
            reference.path.clone(),
            reference.tag.clone().unwrap_or_else(|| "latest".into()),
        ),
    }
}

/// The credentials to use for a registry.
pub(crate) fn registry_auth(
    reference: &Reference,
    settings: &RegistrySettings,
) -> Result<RegistryAuth, RegistryError> {
    Ok(match settings.credentials.get(&reference.domain)? {
        Some(c) => RegistryAuth::Basic(c.username, c.password),
        None => RegistryAuth::Anonymous,
    })
}

/// Turns an oci-client error into one that says what to do.
pub(crate) fn map_error(
    e: OciDistributionError,
    reference: &Reference,
    action: &'static str,
    settings: &RegistrySettings,
) -> RegistryError {
    let registry = reference.domain.clone();
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => RegistryError::Denied {
            action,
            reference: reference.familiar(),
            registry,
        },
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                RegistryError::Denied {
                    action,
                    reference: reference.familiar(),
                    registry,
                }
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown))
            {
                RegistryError::NotFound(reference.familiar())
            } else {
                RegistryError::Protocol {
                    registry,
                    message: envelope.to_string(),
                }
            }
        }
        OciDistributionError::ServerError { code: 404, .. }
        | OciDistributionError::ImageManifestNotFoundError(_) => {
            RegistryError::NotFound(reference.familiar())
        }
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => RegistryError::Denied {
            action,
            reference: reference.familiar(),
            registry,
        },
        OciDistributionError::RequestError(err)
            if err
                .status()
                .is_some_and(|c| c.as_u16() == 401 || c.as_u16() == 403) =>
        {
            RegistryError::Denied {
                action,
                reference: reference.familiar(),
                registry,
            }
        }
        OciDistributionError::RequestError(err)
            if err.status().is_some_and(|c| c.as_u16() == 404) =>
        {
            RegistryError::NotFound(reference.familiar())
        }
        OciDistributionError::RequestError(err) if err.is_connect() || err.is_timeout() => {
            let hint = if plain_http(reference, settings) {
                "; check that the registry is running and listens there".to_string()
            } else {
                format!(
                    "; check the name and the network. A registry that only serves plain HTTP must be listed in engine.insecure_registries (\"{}\")",
                    reference.domain
                )
            };
            RegistryError::Unreachable {
                registry,
                message: crate::util::errors::chain(&err),
                hint,
            }
        }
        OciDistributionError::RequestError(err) => RegistryError::Unreachable {
            registry: registry.clone(),
            message: crate::util::errors::chain(&err),
            hint: if plain_http(reference, settings) {
                String::new()
            } else {
                format!("; if {registry} serves plain HTTP, list it in engine.insecure_registries")
            },
        },
        other => RegistryError::Protocol {
            registry,
            message: other.to_string(),
        },
    }
}
