//! What a failed start means for a user: 127/126 when the command cannot be found or run (as
//! Docker has it), a missing cgroup controller named, anything else said as it is.

use super::record::ContainerConfig;
use super::{Cause, ContainerError, runtime};

/// A start failure, with 127/126 when the command cannot be found or run, as Docker does.
pub(super) fn classify(config: &ContainerConfig, e: impl Into<Cause>) -> ContainerError {
    let cause = e.into();
    let text = cause.to_string();
    let command = config.args.first().cloned().unwrap_or_default();
    let exec_failed = text.contains("error in executing process");
    if text.contains("not found in $PATH") || (exec_failed && text.contains("No such file")) {
        ContainerError::CannotRun {
            code: 127,
            message: format!(
                "exec: {command:?}: executable file not found in $PATH; check the command and the image"
            ),
        }
    } else if text.contains("correct permissions")
        || (exec_failed && text.contains("Permission denied"))
    {
        ContainerError::CannotRun {
            code: 126,
            message: format!("exec: {command:?}: permission denied; the file is not executable"),
        }
    } else if let Some(controller) = missing_controller(&text) {
        ContainerError::runtime(format!(
            "cannot apply the container's limits: the {controller} cgroup controller is not \
             available here ({text}); enable it for dockhand's cgroup (on cgroup v2, in the \
             parent's cgroup.subtree_control) or run without that limit"
        ))
    } else {
        runtime("cannot start the container", cause)
    }
}

/// The cgroup controller whose file a cgroup error says is missing (`…/memory.max: No such
/// file…` → `memory`).
fn missing_controller(text: &str) -> Option<&str> {
    if !text.contains("cgroup") || !text.contains("No such file") {
        return None;
    }
    let file = text.split(": No such file").next()?.rsplit('/').next()?;
    let controller = file.split('.').next()?;
    (!controller.is_empty() && controller != "cgroup" && file.contains('.')).then_some(controller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_errors_name_what_to_fix() {
        let mut config = super::super::record::sample_config(&"0".repeat(64), "t");
        config.args = vec!["true".into()];
        let cgroup = "failed to create container: intermediate process error cgroup error: io error: failed to open /sys/fs/cgroup/dockhand/abc/memory.max: No such file or directory (os error 2)";
        let e = classify(&config, cgroup).to_string();
        assert!(
            e.contains("the memory cgroup controller is not available"),
            "{e}"
        );
        let missing = "failed to create container: exec process failed with error error in executing process : executable '/x' not found in $PATH";
        assert!(matches!(
            classify(&config, missing),
            ContainerError::CannotRun { code: 127, .. }
        ));
        let mode = "exec process failed with error error in executing process : executable '/etc/hostname' at path '\"/etc/hostname\"' does not have correct permissions";
        assert!(matches!(
            classify(&config, mode),
            ContainerError::CannotRun { code: 126, .. }
        ));
        let other = "failed to create container: mount error: No such file or directory";
        assert!(matches!(
            classify(&config, other),
            ContainerError::Runtime { .. }
        ));
    }
}
