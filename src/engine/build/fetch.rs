//! ADD's remote sources: a URL downloaded into a temporary directory of the build (redirects
//! followed, bounded in time), under the name Docker gives it (the URL path's last segment),
//! with mode 0600 and the server's Last-Modified time, as Docker writes it; `--checksum`
//! verified. The file then goes into the step's plan like a file of the context, so its
//! content is in the cache key and a changed download misses the cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::util::errors::chain as error_chain;

/// Longest a download may take.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Whether an ADD source names a remote file.
pub fn is_url(src: &str) -> bool {
    src.starts_with("http://") || src.starts_with("https://")
}

/// The file name Docker infers from a URL: its path's last segment, without the query.
pub fn file_name(url: &str) -> Result<String, String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .split_once('/')
        .map(|(_, p)| p)
        .unwrap_or_default();
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() && name != "." && name != ".." => Ok(name.to_string()),
        _ => Err(format!(
            "{url}: cannot tell a file name from the URL; give the destination as a file path"
        )),
    }
}

/// Downloads `url` into `dir` as `name`; returns the file's path. `checksum` is
/// `sha256:<hex>` when given.
pub fn download(
    url: &str,
    dir: &Path,
    name: &str,
    checksum: Option<&str>,
) -> Result<PathBuf, String> {
    let want = checksum
        .map(|c| {
            c.strip_prefix("sha256:")
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| {
                    format!("--checksum={c}: write sha256: and the 64 hex digits of the file")
                })
        })
        .transpose()?;
    let path = dir.join(name);
    let fail = |e: &dyn std::fmt::Display| format!("{url}: {e}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(&e))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (digest, modified) = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| fail(&error_chain(&e)))?;
        let mut res = client
            .get(url)
            .send()
            .await
            .map_err(|e| fail(&error_chain(&e)))?;
        if !res.status().is_success() {
            return Err(format!("{url}: the server answered {}", res.status()));
        }
        let modified = res
            .headers()
            .get(reqwest::header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::util::time::parse_http_date)
            .and_then(|secs| u64::try_from(secs).ok())
            .map(|secs| std::time::UNIX_EPOCH + Duration::from_secs(secs));
        let mut file = std::fs::File::create(&path).map_err(|e| fail(&e))?;
        let mut hasher = Sha256::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| fail(&error_chain(&e)))? {
            hasher.update(&chunk);
            file.write_all(&chunk).map_err(|e| fail(&e))?;
        }
        Ok((format!("{:x}", hasher.finalize()), modified))
    })?;
    if let Some(want) = want {
        if digest != want {
            return Err(format!(
                "{url}: the download's checksum is sha256:{digest}, not the sha256:{want} --checksum gives"
            ));
        }
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(&e))?;
    if let Some(t) = modified {
        let f = std::fs::File::options()
            .write(true)
            .open(&path)
            .map_err(|e| fail(&e))?;
        f.set_modified(t).map_err(|e| fail(&e))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_path_segment() {
        assert_eq!(
            file_name("https://example.com/a/b/tool.tar.gz?x=1").unwrap(),
            "tool.tar.gz"
        );
        assert_eq!(file_name("http://h:8080/f").unwrap(), "f");
        assert!(file_name("http://example.com/").is_err());
        assert!(file_name("http://example.com").is_err());
    }
}
