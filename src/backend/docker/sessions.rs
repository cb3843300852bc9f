//! Exec and attach sessions on a Docker-compatible endpoint: hijacked streams, resizes and
//! exit codes.

use super::*;
use crate::backend::prelude::*;

impl SessionBackend for DockerBackend {
    async fn exec(&self, container: &str, spec: ExecSpec) -> Result<Session> {
        let config = bollard::exec::CreateExecOptions {
            cmd: Some(spec.cmd.clone()),
            env: (!spec.env.is_empty()).then_some(spec.env),
            working_dir: spec.working_dir,
            user: spec.user,
            tty: Some(spec.tty),
            attach_stdin: Some(spec.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let api = self.api().await?;
        let created = api
            .create_exec(container, config)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))?;
        let options = bollard::exec::StartExecOptions {
            detach: false,
            tty: spec.tty,
            output_capacity: None,
        };
        let started = api
            .start_exec(&created.id, Some(options))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))?;
        match started {
            bollard::exec::StartExecResults::Attached { output, input } => Ok(Session {
                id: SessionId::Exec(created.id),
                output: self.session_output(output, container),
                input: spec.stdin.then_some(input),
            }),
            bollard::exec::StartExecResults::Detached => Err(BackendError::Internal {
                message: format!("{}: the exec in {container} started detached", self.url()),
                source: None,
            }),
        }
    }

    async fn attach(&self, container: &str, stdin: bool) -> Result<Session> {
        let id = self.inspect_container(container).await?.summary.id;
        let o = q::AttachContainerOptionsBuilder::default()
            .stdin(stdin)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .logs(false)
            .detach_keys("ctrl-p,ctrl-q")
            .build();
        let attached = self
            .api()
            .await?
            .attach_container(&id, Some(o))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))?;
        Ok(Session {
            output: self.session_output(attached.output, container),
            input: stdin.then_some(attached.input),
            id: SessionId::Attach(id),
        })
    }

    async fn resize_session(&self, id: &SessionId, cols: u16, rows: u16) -> Result<()> {
        let api = self.api().await?;
        match id {
            SessionId::Exec(exec) => {
                let o = q::ResizeExecOptionsBuilder::default()
                    .w(i32::from(cols))
                    .h(i32::from(rows))
                    .build();
                api.resize_exec(exec, o)
                    .await
                    .map_err(|e| self.err(e, None))
            }
            SessionId::Attach(c) => {
                let o = q::ResizeContainerTTYOptionsBuilder::default()
                    .w(i32::from(cols))
                    .h(i32::from(rows))
                    .build();
                api.resize_container_tty(c, o)
                    .await
                    .map_err(|e| self.err(e, subject(ObjectKind::Container, c)))
            }
        }
    }

    async fn session_exit_code(&self, id: &SessionId) -> Result<Option<i64>> {
        match id {
            SessionId::Exec(exec) => {
                let i = self
                    .api()
                    .await?
                    .inspect_exec(exec)
                    .await
                    .map_err(|e| self.err(e, None))?;
                Ok(if i.running.unwrap_or(false) {
                    None
                } else {
                    i.exit_code
                })
            }
            SessionId::Attach(c) => {
                let d = self.inspect_container(c).await?;
                Ok(
                    if d.summary.state.is_alive() || d.summary.state == ContainerState::Restarting {
                        None
                    } else {
                        d.summary.exit_code
                    },
                )
            }
        }
    }
}
