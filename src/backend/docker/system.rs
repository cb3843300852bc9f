//! The endpoint itself: ping, info, disk usage and the events stream.

use super::*;
use crate::backend::prelude::*;

impl SystemBackend for DockerBackend {
    async fn ping(&self) -> Result<()> {
        self.api()
            .await?
            .ping()
            .await
            .map(drop)
            .map_err(|e| self.err(e, None))
    }

    async fn info(&self) -> Result<SystemInfo> {
        let api = self.api().await?;
        let info = api.info().await.map_err(|e| self.err(e, None))?;
        let version = api.version().await.map_err(|e| self.err(e, None))?;
        let backend = if version
            .components
            .iter()
            .flatten()
            .any(|c| c.name.to_ascii_lowercase().contains("podman"))
        {
            "podman"
        } else {
            "docker"
        };
        let n = |v: Option<i64>| v.unwrap_or(0).max(0) as usize;
        Ok(SystemInfo {
            backend: backend.into(),
            endpoint: self.url().to_string(),
            server_version: info.server_version.unwrap_or_default(),
            api_version: Some(api.client_version().to_string()),
            operating_system: info.operating_system.unwrap_or_default(),
            kernel_version: info.kernel_version.unwrap_or_default(),
            storage_driver: info.driver.unwrap_or_default(),
            cgroup_version: info
                .cgroup_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
            root_dir: info.docker_root_dir.unwrap_or_default(),
            ncpu: info.ncpu.unwrap_or(0).max(0) as u32,
            mem_total: info.mem_total.unwrap_or(0).max(0) as u64,
            containers: n(info.containers),
            containers_running: n(info.containers_running),
            containers_paused: n(info.containers_paused),
            containers_stopped: n(info.containers_stopped),
            images: n(info.images),
        })
    }

    async fn disk_usage(&self) -> Result<DiskUsage> {
        crate::backend::disk_usage_from_lists(self).await
    }

    async fn events(&self) -> Result<ResultStream<Event>> {
        let me = self.clone();
        // The request is sent on the first poll; `since` keeps what happens before that.
        let since = self.now().to_string();
        let o = q::EventsOptionsBuilder::default().since(&since).build();
        let stream = self.api().await?.events(Some(o)).filter_map(move |item| {
            let out = match item {
                Ok(e) => {
                    let kind = match e.typ.map(|t| t.to_string()).as_deref() {
                        Some("container") => Some(ObjectKind::Container),
                        Some("image") => Some(ObjectKind::Image),
                        Some("volume") => Some(ObjectKind::Volume),
                        Some("network") => Some(ObjectKind::Network),
                        _ => None,
                    };
                    kind.map(|kind| {
                        let actor = e.actor.unwrap_or_default();
                        Ok(Event {
                            time: e.time.unwrap_or(0),
                            kind,
                            // "exec_start: sh" and the like: the verb is what matters.
                            action: e
                                .action
                                .unwrap_or_default()
                                .split(':')
                                .next()
                                .unwrap_or_default()
                                .to_string(),
                            id: actor.id.unwrap_or_default(),
                            name: actor.attributes.and_then(|a| a.get("name").cloned()),
                        })
                    })
                }
                Err(e) => Some(Err(me.err(e, None))),
            };
            std::future::ready(out)
        });
        Ok(stream.boxed())
    }

    async fn check(&self, _repair: bool) -> Result<CheckReport> {
        Err(BackendError::engine_only(
            "system check",
            &format!("the daemon at {}", self.url()),
        ))
    }

    async fn boot(&self) -> Result<BootReport> {
        Err(BackendError::engine_only(
            "system boot",
            &format!("the daemon at {}", self.url()),
        ))
    }

    async fn reset(&self) -> Result<ResetReport> {
        Err(BackendError::engine_only(
            "system reset",
            &format!("the daemon at {}", self.url()),
        ))
    }
}
