//! Turns Docker API failures into [`BackendError`]s a user can act on.

use std::io::ErrorKind;

use bollard::errors::Error as ApiError;

use crate::backend::error::BackendError;
use crate::model::ObjectKind;

/// What a failed request was about, for NotFound messages.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Kind of the object asked for.
    pub kind: ObjectKind,
    /// The reference given.
    pub reference: &'a str,
}

fn kind_from_message(message: &str, fallback: ObjectKind) -> ObjectKind {
    let lower = message.to_ascii_lowercase();
    if lower.contains("no such image")
        || lower.contains("manifest unknown")
        || lower.contains("pull access denied")
    {
        ObjectKind::Image
    } else if lower.contains("no such container") {
        ObjectKind::Container
    } else if lower.contains("no such volume") {
        ObjectKind::Volume
    } else if lower.contains("network") && lower.contains("not found") {
        ObjectKind::Network
    } else {
        fallback
    }
}

/// The reference named in a "No such image: x" message, when it differs from the subject.
fn reference_from_message(message: &str) -> Option<String> {
    let (_, rest) = message.split_once(": ")?;
    (!rest.is_empty() && !rest.contains(' ')).then(|| rest.to_string())
}

/// The last error in the chain: hyper wraps the one that says what happened several times.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// What a failed connection means for the user, TLS refusals told apart from the rest.
fn connection_failure(cause: &str) -> String {
    let lower = cause.to_ascii_lowercase();
    if lower.contains("invalid peer certificate") {
        format!(
            "TLS: the daemon's certificate is not trusted ({cause}); --tlscacert must be the CA that signed it, and the host in the URL one that the certificate names"
        )
    } else if lower.contains("received fatal alert") {
        format!(
            "TLS: the daemon refused this client ({cause}); --tlscert and --tlskey must be a matching pair signed by a CA the daemon trusts"
        )
    } else if lower.contains("connection refused") || lower.contains("no such file") {
        format!("cannot connect ({cause}); is the daemon running and listening there?")
    } else {
        format!("connection failed: {cause}")
    }
}

/// Maps an API error for a request about `subject` on `endpoint`.
pub fn map(err: ApiError, endpoint: &str, subject: Option<Subject<'_>>) -> BackendError {
    let unavailable = |message: String, source: ApiError| BackendError::Unavailable {
        endpoint: endpoint.to_string(),
        message,
        source: Some(Box::new(source)),
    };
    match err {
        ApiError::DockerResponseServerError {
            status_code,
            ref message,
        } => {
            let message = message.trim().to_string();
            // The runtime cannot exec the command: docker's CLI exits 127 or 126.
            if message.contains("executable file not found")
                || message.contains("no such file or directory: unknown")
            {
                return BackendError::CannotRun { code: 127, message };
            }
            if message.contains("exec") && message.contains("permission denied") {
                return BackendError::CannotRun { code: 126, message };
            }
            match status_code {
                404 => {
                    let kind = kind_from_message(
                        &message,
                        subject.map(|s| s.kind).unwrap_or(ObjectKind::Container),
                    );
                    let reference = match subject {
                        Some(s) if s.kind == kind => s.reference.to_string(),
                        _ => reference_from_message(&message).unwrap_or(message),
                    };
                    BackendError::NotFound { kind, reference }
                }
                // Docker answers 403 for objects in use or predefined ("has active endpoints").
                409 | 403 => BackendError::conflict(message),
                400 if message.contains("HTTP request to an HTTPS server") => {
                    BackendError::invalid(format!(
                        "{endpoint} speaks TLS: give --tlscacert, --tlscert and --tlskey (or tlscacert, tlscert and tlskey for the endpoint in the config)"
                    ))
                }
                400 => BackendError::invalid(message),
                401 => BackendError::PermissionDenied {
                    message,
                    source: None,
                },
                _ => BackendError::Internal {
                    message: format!("{endpoint} answered {status_code}: {message}"),
                    source: None,
                },
            }
        }
        ApiError::SocketNotFoundError(ref path) => unavailable(
            format!(
                "no socket at {path}; is the daemon running? (Docker: `systemctl start docker`; Podman: `systemctl start podman.socket` or `podman system service`)"
            ),
            err,
        ),
        ApiError::IOError { err: ref io } => {
            let kind = io.kind();
            let text = io.to_string();
            match kind {
                ErrorKind::PermissionDenied => BackendError::PermissionDenied {
                    message: format!(
                        "cannot open {endpoint}; run as root or add your user to the group that owns the socket (usually `docker`)"
                    ),
                    source: Some(Box::new(err)),
                },
                ErrorKind::NotFound | ErrorKind::ConnectionRefused => unavailable(
                    format!("cannot connect ({text}); is the daemon running?"),
                    err,
                ),
                _ => unavailable(format!("connection failed: {text}"), err),
            }
        }
        ApiError::RequestTimeoutError => unavailable(
            "no answer in time; the daemon may be overloaded or hung".to_string(),
            err,
        ),
        ApiError::HyperResponseError { .. }
        | ApiError::HyperLegacyError { .. }
        | ApiError::HttpClientError { .. } => {
            let cause = innermost(&err);
            let lower = cause.to_ascii_lowercase();
            if lower.contains("permission denied") {
                BackendError::PermissionDenied {
                    message: format!(
                        "cannot open {endpoint}; run as root or add your user to the group that owns the socket (usually `docker`)"
                    ),
                    source: Some(Box::new(err)),
                }
            } else {
                // The cause is in the message: the chain of hyper wrappers adds nothing to it.
                BackendError::Unavailable {
                    endpoint: endpoint.to_string(),
                    message: connection_failure(&cause),
                    source: None,
                }
            }
        }
        ApiError::CertPathError { ref path } => BackendError::invalid(format!(
            "cannot read the TLS file {}: check the paths given with --tlscacert, --tlscert and --tlskey (or in the config)",
            path.display()
        )),
        ApiError::CertParseError { ref path } | ApiError::CertMultipleKeys { ref path, .. } => {
            BackendError::invalid(format!(
                "{} is not a single PEM private key: --tlskey takes the client's key (key.pem)",
                path.display()
            ))
        }
        ApiError::DockerStreamError { ref error } => {
            let lower = error.to_ascii_lowercase();
            let message = error.clone();
            if lower.contains("not found")
                || lower.contains("manifest unknown")
                || lower.contains("does not exist")
            {
                BackendError::NotFound {
                    kind: ObjectKind::Image,
                    reference: subject.map(|s| s.reference.to_string()).unwrap_or(message),
                }
            } else if lower.contains("unauthorized") || lower.contains("denied") {
                BackendError::PermissionDenied {
                    message,
                    source: Some(Box::new(err)),
                }
            } else {
                BackendError::Internal {
                    message,
                    source: Some(Box::new(err)),
                }
            }
        }
        other => BackendError::Internal {
            message: format!("{endpoint}: {other}"),
            source: Some(Box::new(other)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> ApiError {
        ApiError::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        }
    }

    #[test]
    fn statuses_map_to_meaningful_variants() {
        let subject = Some(Subject {
            kind: ObjectKind::Container,
            reference: "web",
        });
        let e = map(
            server(404, "No such container: web"),
            "unix:///d.sock",
            subject,
        );
        assert_eq!(e.to_string(), "no such container: web");
        let e = map(
            server(404, "No such image: nginx:9"),
            "unix:///d.sock",
            subject,
        );
        assert_eq!(e.to_string(), "no such image: nginx:9");
        let e = map(server(409, "name in use"), "unix:///d.sock", subject);
        assert!(matches!(e, BackendError::Conflict { .. }));
        let e = map(server(400, "bad port"), "unix:///d.sock", subject);
        assert!(matches!(e, BackendError::InvalidInput { .. }));
        let e = map(
            server(400, "Client sent an HTTP request to an HTTPS server."),
            "tcp://127.0.0.1:2376",
            None,
        );
        assert!(
            e.to_string().contains("speaks TLS: give --tlscacert"),
            "{e}"
        );
    }

    #[test]
    fn tls_refusals_say_which_file_to_check() {
        let server_cert = connection_failure("invalid peer certificate: UnknownIssuer");
        assert!(
            server_cert.contains("--tlscacert must be the CA"),
            "{server_cert}"
        );
        let client_cert =
            connection_failure("connection error: received fatal alert: BadCertificate");
        assert!(
            client_cert.contains("--tlscert and --tlskey"),
            "{client_cert}"
        );
        let refused = connection_failure("tcp connect error: Connection refused (os error 111)");
        assert!(refused.contains("is the daemon running"), "{refused}");
        let e = map(
            ApiError::CertPathError {
                path: "/nonexistent/ca.pem".into(),
            },
            "tcp://127.0.0.1:2376",
            None,
        );
        assert!(matches!(e, BackendError::InvalidInput { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn a_missing_socket_is_unavailable_with_a_hint() {
        let e = map(
            ApiError::SocketNotFoundError("/var/run/docker.sock".into()),
            "unix:///var/run/docker.sock",
            None,
        );
        assert!(e.is_unavailable());
        assert!(e.to_string().contains("is the daemon running"), "{e}");
    }
}
