//! Builds through the Docker API: the context tarred with its `.dockerignore` applied (a
//! Dockerfile from elsewhere added under a name of its own), sent to `/build`, and the daemon's progress
//! read back into the project's build events.

use std::path::Path;

use futures::StreamExt;

use super::*;
use crate::backend::prelude::*;
use crate::model::dockerignore::Ignore;

/// Where the Dockerfile goes in the context tarball when the context does not hold it.
const DOCKERFILE: &str = ".dockhand.Dockerfile";

/// The context directory as a tarball, what `ignore` leaves out skipped, and the name of the
/// Dockerfile in it. A Dockerfile the context holds as it was read is sent as it is; any
/// other goes in under a name of its own, listed in the tarball's `.dockerignore` so that
/// the daemon takes it out of the context once read (as the docker client does), and no
/// `COPY .` sees it.
fn context_tar(spec: &BuildSpec, ignore: &Ignore) -> std::io::Result<(Vec<u8>, String)> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    let mut own = None;
    let mut dockerignore = None;
    if let Some(dir) = spec.context.as_deref() {
        own = spec
            .dockerfile_path
            .as_deref()
            .and_then(|p| in_context(dir, p, ignore))
            .filter(|rel| {
                std::fs::read(dir.join(rel)).ok() == Some(spec.dockerfile.clone().into())
            });
        let mut todo = vec![std::path::PathBuf::new()];
        while let Some(rel) = todo.pop() {
            let mut names: Vec<_> = std::fs::read_dir(dir.join(&rel))?
                .flatten()
                .map(|e| e.file_name())
                .collect();
            names.sort();
            for n in names {
                let child = rel.join(&n);
                let text = child.display().to_string();
                let meta = std::fs::symlink_metadata(dir.join(&child))?;
                let excluded = ignore.excludes(&text);
                if text == ".dockerignore" && meta.is_file() {
                    dockerignore = Some(std::fs::read(dir.join(&child))?);
                } else if !excluded {
                    b.append_path_with_name(dir.join(&child), &child)?;
                }
                if meta.is_dir() && (!excluded || ignore.has_exceptions()) {
                    todo.push(child);
                }
            }
        }
    }
    let name = match own {
        Some(rel) => rel,
        None => {
            let mut h = tar::Header::new_gnu();
            h.set_size(spec.dockerfile.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, DOCKERFILE, spec.dockerfile.as_bytes())?;
            let mut text = dockerignore.take().unwrap_or_default();
            text.extend_from_slice(format!("\n{DOCKERFILE}\n").as_bytes());
            dockerignore = Some(text);
            DOCKERFILE.to_string()
        }
    };
    if let Some(text) = dockerignore {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, ".dockerignore", text.as_slice())?;
    }
    Ok((b.into_inner()?, name))
}

/// The path of `file` inside the context `dir`, when it is there and not left out.
fn in_context(dir: &Path, file: &Path, ignore: &Ignore) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let file = file.canonicalize().ok()?;
    let rel = file.strip_prefix(&dir).ok()?.display().to_string();
    (!rel.is_empty() && !ignore.excludes(&rel)).then_some(rel)
}

impl DockerBackend {
    /// Starts a build on the daemon; its progress.
    pub(super) async fn start_build(&self, spec: BuildSpec) -> Result<ResultStream<BuildEvent>> {
        let ignore = crate::backend::ignore_file(&spec)?;
        let (tar, dockerfile) = context_tar(&spec, &ignore)
            .map_err(|e| BackendError::invalid(format!("cannot read the build context: {e}")))?;
        let mut tags = spec.tags.iter();
        let first = tags.next().cloned();
        let rest: Vec<String> = tags.cloned().collect();
        let o = bollard::query_parameters::BuildImageOptions {
            dockerfile,
            t: first.clone(),
            nocache: spec.no_cache,
            pull: spec.pull.then(|| "1".to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(spec.build_args.clone().into_iter().collect()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            networkmode: spec.network.clone(),
            target: spec.target.clone().unwrap_or_default(),
            version: bollard::query_parameters::BuilderVersion::BuilderV1,
            ..Default::default()
        };
        // The daemon is reached before the stream is handed out.
        self.api().await?;
        let me = self.clone();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<BuildEvent>>(1024);
        tokio::spawn(async move {
            let api = match me.api().await {
                Ok(a) => a,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut stream = api.build_image(o, None, Some(bollard::body_full(tar.into())));
            let mut step = 0;
            let mut id = None;
            let mut partial = String::new();
            loop {
                // A reader that went away stops the build: the request is dropped with it.
                let item = tokio::select! {
                    item = stream.next() => item,
                    () = tx.closed() => return,
                };
                let Some(item) = item else { break };
                let info = match item {
                    Ok(i) => i,
                    Err(bollard::errors::Error::DockerStreamError { error }) => {
                        let _ = tx.send(Err(BackendError::invalid(error))).await;
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(me.err(e, None))).await;
                        return;
                    }
                };
                if let Some(message) = info.error_detail.and_then(|d| d.message) {
                    let _ = tx.send(Err(BackendError::invalid(message))).await;
                    return;
                }
                if let Some(aux) = info.aux {
                    id = aux.id.or(id);
                }
                let Some(text) = info.stream else { continue };
                partial.push_str(&text);
                while let Some(at) = partial.find('\n') {
                    let line: String = partial.drain(..=at).collect();
                    let line = line.trim_end().to_string();
                    let event = if let Some(rest) = line.strip_prefix("Step ") {
                        if step > 0 {
                            let _ = tx.send(Ok(BuildEvent::Done { step, seconds: 0.0 })).await;
                        }
                        step += 1;
                        BuildEvent::Step {
                            step,
                            name: rest.to_string(),
                        }
                    } else if line.trim() == "---> Using cache" {
                        BuildEvent::Cached { step }
                    } else if line.trim_start().starts_with("--->")
                        || line.starts_with("Successfully ")
                        || line.starts_with("Removing intermediate container")
                        || line.is_empty()
                    {
                        continue;
                    } else {
                        BuildEvent::Output { step, line }
                    };
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
            }
            if step > 0 {
                let _ = tx.send(Ok(BuildEvent::Done { step, seconds: 0.0 })).await;
            }
            let Some(id) = id else {
                let _ = tx
                    .send(Err(BackendError::invalid(
                        "the daemon did not report the image it built",
                    )))
                    .await;
                return;
            };
            for t in &rest {
                if let Err(e) = me.tag_image(&id, t).await {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
            let tags = first.into_iter().chain(rest).collect();
            let _ = tx.send(Ok(BuildEvent::Built { id, tags })).await;
        });
        Ok(
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) })
                .boxed(),
        )
    }
}
