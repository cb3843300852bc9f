//! The demo endpoint: info, disk usage and events.

use super::*;
use crate::backend::prelude::*;

impl SystemBackend for FakeBackend {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn info(&self) -> Result<SystemInfo> {
        let st = self.state();
        let count = |s: ContainerState| {
            st.containers
                .iter()
                .filter(|c| c.summary.state == s)
                .count()
        };
        Ok(SystemInfo {
            backend: "demo".into(),
            endpoint: "demo".into(),
            server_version: env!("CARGO_PKG_VERSION").into(),
            api_version: None,
            operating_system: "demo data (in memory)".into(),
            kernel_version: "n/a".into(),
            storage_driver: "memory".into(),
            cgroup_version: "n/a".into(),
            root_dir: "(in memory)".into(),
            ncpu: HOST_CPUS,
            mem_total: HOST_MEMORY,
            containers: st.containers.len(),
            containers_running: count(ContainerState::Running),
            containers_paused: count(ContainerState::Paused),
            containers_stopped: count(ContainerState::Exited) + count(ContainerState::Created),
            images: st.images.len(),
        })
    }

    async fn disk_usage(&self) -> Result<DiskUsage> {
        crate::backend::disk_usage_from_lists(self).await
    }

    async fn events(&self) -> Result<ResultStream<Event>> {
        let rx = self.inner.events.subscribe();
        Ok(stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((Ok(event), rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed())
    }

    async fn check(&self, _repair: bool) -> Result<CheckReport> {
        Err(BackendError::engine_only("system check", "the demo"))
    }

    async fn boot(&self) -> Result<BootReport> {
        Err(BackendError::engine_only("system boot", "the demo"))
    }

    async fn reset(&self) -> Result<ResetReport> {
        Err(BackendError::engine_only("system reset", "the demo"))
    }
}
