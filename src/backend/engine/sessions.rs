//! Exec and attach sessions on the embedded engine: the `__exec` helper or a console socket
//! for exec, the monitor's attach socket for attach.

use super::*;
use crate::backend::prelude::*;

impl SessionBackend for EngineBackend {
    async fn exec(&self, container: &str, spec: ExecSpec) -> Result<Session> {
        let reference = container.to_string();
        let id = self.blocking(move |me| me.exec_target(&reference)).await?;
        if spec.cmd.is_empty() {
            return Err(BackendError::invalid("exec needs a command"));
        }
        let request = crate::engine::container::exec::ExecRequest {
            cmd: spec.cmd,
            env: spec.env,
            working_dir: spec.working_dir,
            user: spec.user,
            tty: spec.tty,
            console_socket: None,
        };
        self.inner
            .sessions
            .start(&self.inner.exe, self.root(), &id, &request, spec.stdin)
    }

    async fn attach(&self, container: &str, stdin: bool) -> Result<Session> {
        self.attach_with(container, stdin, false).await
    }

    async fn attach_before_start(&self, container: &str, stdin: bool) -> Result<Session> {
        self.attach_with(container, stdin, true).await
    }

    async fn resize_session(&self, id: &SessionId, cols: u16, rows: u16) -> Result<()> {
        match id {
            SessionId::Exec(key) => self.inner.sessions.resize(key, cols, rows),
            SessionId::Attach(reference) => {
                let reference = reference.clone();
                let id = self
                    .blocking(move |me| me.resolve_container(&reference))
                    .await?;
                let path = crate::engine::container::attach::socket_path(&id);
                session_io::resize_attached(path, cols, rows)
                    .await
                    .map_err(|e| {
                        BackendError::conflict(format!(
                            "cannot resize the terminal of container {id}: {e}; is it running?"
                        ))
                    })
            }
        }
    }

    async fn session_exit_code(&self, id: &SessionId) -> Result<Option<i64>> {
        match id {
            SessionId::Exec(key) => Ok(self.inner.sessions.exit_code(key).await),
            SessionId::Attach(c) => {
                if let Some(code) = self.inner.attach_exits.take(c) {
                    return Ok(Some(code));
                }
                let d = self.inspect_container(c).await?;
                let state = d.summary.state;
                Ok(
                    if state.is_alive() || state == crate::model::ContainerState::Restarting {
                        None
                    } else {
                        d.summary.exit_code
                    },
                )
            }
        }
    }
}
