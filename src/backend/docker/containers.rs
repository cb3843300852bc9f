//! Containers on a Docker-compatible endpoint: the list (with sizes on request), inspect,
//! create from a spec, the lifecycle, logs demultiplexed into lines, stats, top, cp both ways,
//! export, diff and prune.

use super::*;
use crate::backend::prelude::*;

impl ContainerBackend for DockerBackend {
    async fn list_containers(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        self.containers_listed(all, false).await
    }

    async fn list_containers_sized(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        self.containers_listed(all, true).await
    }

    async fn inspect_container(&self, reference: &str) -> Result<ContainerDetails> {
        let c = self
            .api()
            .await?
            .inspect_container(reference, None)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))?;
        Ok(convert::container_details(c))
    }

    async fn create_container(&self, spec: ContainerSpec) -> Result<String> {
        let image = spec.image.clone();
        let options = spec
            .name
            .as_ref()
            .map(|n| q::CreateContainerOptionsBuilder::default().name(n).build());
        let created = self
            .api()
            .await?
            .create_container(options, create_body(spec))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, &image)))?;
        Ok(created.id)
    }

    async fn start_container(&self, reference: &str) -> Result<()> {
        let r = self.api().await?.start_container(reference, None).await;
        self.unmodified_ok(r, subject(ObjectKind::Container, reference))
    }

    async fn stop_container(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        let options = timeout.map(|t| {
            q::StopContainerOptionsBuilder::default()
                .t(t.as_secs() as i32)
                .build()
        });
        let r = self.api().await?.stop_container(reference, options).await;
        self.unmodified_ok(r, subject(ObjectKind::Container, reference))
    }

    async fn kill_container(&self, reference: &str, signal: Option<&str>) -> Result<()> {
        let options = signal.map(|s| q::KillContainerOptionsBuilder::default().signal(s).build());
        self.api()
            .await?
            .kill_container(reference, options)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn restart_container(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        let options = timeout.map(|t| {
            q::RestartContainerOptionsBuilder::default()
                .t(t.as_secs() as i32)
                .build()
        });
        self.api()
            .await?
            .restart_container(reference, options)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn pause_container(&self, reference: &str) -> Result<()> {
        self.api()
            .await?
            .pause_container(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn unpause_container(&self, reference: &str) -> Result<()> {
        self.api()
            .await?
            .unpause_container(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn remove_container(&self, reference: &str, options: RemoveOptions) -> Result<()> {
        let o = q::RemoveContainerOptionsBuilder::default()
            .force(options.force)
            .v(options.volumes)
            .build();
        self.api()
            .await?
            .remove_container(reference, Some(o))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn rename_container(&self, reference: &str, new_name: &str) -> Result<()> {
        let o = q::RenameContainerOptionsBuilder::default()
            .name(new_name)
            .build();
        self.api()
            .await?
            .rename_container(reference, o)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn wait_container(&self, reference: &str) -> Result<i64> {
        let mut stream = self.api().await?.wait_container(reference, None);
        match stream.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(self.err(e, subject(ObjectKind::Container, reference))),
            None => Err(BackendError::Internal {
                message: format!(
                    "{}: the wait for {reference} ended without an exit code",
                    self.url()
                ),
                source: None,
            }),
        }
    }

    async fn top_container(&self, reference: &str) -> Result<TopOutput> {
        let top = self
            .api()
            .await?
            .top_processes(reference, None)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))?;
        Ok(TopOutput {
            titles: top.titles.unwrap_or_default(),
            processes: top.processes.unwrap_or_default(),
        })
    }

    async fn container_logs(
        &self,
        reference: &str,
        options: LogOptions,
    ) -> Result<ResultStream<LogLine>> {
        // Resolve first, so a wrong name fails now rather than on the first poll.
        let id = self.inspect_container(reference).await?.summary.id;
        let o = q::LogsOptionsBuilder::default()
            .follow(options.follow)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail(
                &options
                    .tail
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "all".into()),
            )
            .since(options.since.unwrap_or(0) as i32)
            .build();
        let me = self.clone();
        let clock = self.inner.clock;
        let stream = self.api().await?.logs(&id, Some(o)).flat_map(move |item| {
            let lines: Vec<Result<LogLine>> = match item {
                Ok(LogOutput::StdErr { message }) => {
                    log_lines(LogStream::Stderr, &message, clock.now_ns())
                        .into_iter()
                        .map(Ok)
                        .collect()
                }
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    log_lines(LogStream::Stdout, &message, clock.now_ns())
                        .into_iter()
                        .map(Ok)
                        .collect()
                }
                Ok(LogOutput::StdIn { .. }) => Vec::new(),
                Err(e) => vec![Err(me.err(e, subject(ObjectKind::Container, &id)))],
            };
            stream::iter(lines)
        });
        Ok(stream.boxed())
    }

    async fn container_stats(&self, reference: &str) -> Result<ResultStream<StatsSample>> {
        let details = self.inspect_container(reference).await?;
        if !details.summary.state.is_alive() {
            return Ok(stream::empty().boxed());
        }
        let o = q::StatsOptionsBuilder::default()
            .stream(true)
            .one_shot(false)
            .build();
        let me = self.clone();
        let id = details.summary.id;
        let cpu_limit = details.resources.nano_cpus.map(|n| n as f64 / 1e9);
        let stream = self
            .api()
            .await?
            .stats(&id.clone(), Some(o))
            // A stopped container's samples carry Docker's zero time; the stream is over then.
            .take_while(|item| {
                let alive = match item {
                    Ok(s) => s.read.as_deref().is_some_and(|r| !r.starts_with("0001-")),
                    Err(_) => true,
                };
                std::future::ready(alive)
            })
            .map(move |item| {
                item.map(|s| convert::stats(&s, me.now(), cpu_limit))
                    .map_err(|e| me.err(e, subject(ObjectKind::Container, &id)))
            });
        Ok(stream.boxed())
    }

    // The same samples: they cost no more here.
    async fn container_usage(&self, reference: &str) -> Result<ResultStream<StatsSample>> {
        self.container_stats(reference).await
    }

    async fn stat_path(&self, container: &str, path: &str) -> Result<Option<bool>> {
        let o = q::ContainerArchiveInfoOptionsBuilder::default()
            .path(path)
            .build();
        match self
            .api()
            .await?
            .get_container_archive_info(container, Some(o))
            .await
        {
            // Go's os.ModeDir is the top bit of the mode.
            Ok(stat) => Ok(Some(stat.file_mode & (1 << 31) != 0)),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message,
            }) if !message.to_ascii_lowercase().contains("no such container") => Ok(None),
            Err(e) => Err(self.err(e, subject(ObjectKind::Container, container))),
        }
    }

    async fn copy_from(&self, container: &str, path: &str) -> Result<ByteStream> {
        if self.stat_path(container, path).await?.is_none() {
            return Err(BackendError::invalid(format!(
                "no such file or directory in {container}: {path}"
            )));
        }
        let o = q::DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let me = self.clone();
        let stream = self
            .api()
            .await?
            .download_from_container(container, Some(o))
            .map(move |chunk| chunk.map_err(|e| std::io::Error::other(me.err(e, None))));
        Ok(stream.boxed())
    }

    async fn export_container(&self, reference: &str) -> Result<ByteStream> {
        // An unknown container fails here, before any byte is written.
        let id = self.inspect_container(reference).await?.summary.id;
        let me = self.clone();
        let stream = self
            .api()
            .await?
            .export_container(&id)
            .map(move |chunk| chunk.map_err(|e| std::io::Error::other(me.err(e, None))));
        Ok(stream.boxed())
    }

    async fn container_changes(&self, reference: &str) -> Result<Vec<FileChange>> {
        let changes = self
            .api()
            .await?
            .container_changes(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))?;
        let mut out: Vec<FileChange> = changes
            .unwrap_or_default()
            .into_iter()
            .map(|c| FileChange {
                path: c.path,
                kind: match c.kind {
                    bollard::models::ChangeType::_1 => ChangeKind::Added,
                    bollard::models::ChangeType::_2 => ChangeKind::Deleted,
                    bollard::models::ChangeType::_0 => ChangeKind::Changed,
                },
            })
            .collect();
        out.sort();
        Ok(out)
    }

    async fn copy_to(&self, container: &str, dir: &str, archive: ByteStream) -> Result<()> {
        if self.stat_path(container, dir).await? != Some(true) {
            return Err(BackendError::invalid(format!(
                "no such directory in {container}: {dir}"
            )));
        }
        let o = q::UploadToContainerOptionsBuilder::default()
            .path(dir)
            .build();
        self.api()
            .await?
            .upload_to_container(container, Some(o), bollard::body_try_stream(archive))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))
    }

    async fn prune_containers(&self) -> Result<PruneReport> {
        let r = self
            .api()
            .await?
            .prune_containers(None)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r.containers_deleted.unwrap_or_default(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }
}
