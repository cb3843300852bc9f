//! Seccomp for containers: the default profile (what Docker's refuses: namespaces and
//! mounts without CAP_SYS_ADMIN, kernel keys, modules, clocks, reboot and the like), none
//! with `--security-opt seccomp=unconfined`, or a profile given in Docker's format
//! (`seccomp=PROFILE.json`, whose text the CLI sends, as docker's does), turned into the OCI
//! runtime spec's: its architectures (or `archMap`), and each rule whose `includes` and
//! `excludes` (capabilities, architectures) fit this container.

use serde_json::{Value, json};

use super::ContainerError;
use super::record::Seccomp;

/// Syscalls a container may not make (EPERM), unless it has CAP_SYS_ADMIN for the first
/// group: namespaces and mounts, kernel keys, modules, clocks, reboot and the like.
const ADMIN_SYSCALLS: &[&str] = &[
    "mount",
    "umount",
    "umount2",
    "unshare",
    "setns",
    "pivot_root",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "open_tree",
    "move_mount",
    "mount_setattr",
    "quotactl",
    "lookup_dcookie",
    "perf_event_open",
    "bpf",
    "fanotify_init",
    "open_by_handle_at",
    "name_to_handle_at",
];

const DENIED_SYSCALLS: &[&str] = &[
    "keyctl",
    "add_key",
    "request_key",
    "reboot",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "syslog",
    "iopl",
    "ioperm",
    "uselib",
    "vhangup",
    "userfaultfd",
    "nfsservctl",
    "get_kernel_syms",
    "query_module",
    "kcmp",
];

/// Namespace flags of clone(2) that need CAP_SYS_ADMIN.
const CLONE_NS_FLAGS: &[u64] = &[
    0x0002_0000, // CLONE_NEWNS
    0x0200_0000, // CLONE_NEWCGROUP
    0x0400_0000, // CLONE_NEWUTS
    0x0800_0000, // CLONE_NEWIPC
    0x1000_0000, // CLONE_NEWUSER
    0x2000_0000, // CLONE_NEWPID
    0x4000_0000, // CLONE_NEWNET
];

/// The default seccomp profile: allow, except the syscalls above (EPERM), namespace flags of
/// clone (EPERM) and clone3 (ENOSYS, so that libcs fall back to clone).
fn default_profile(caps: &[String]) -> Value {
    let admin = caps.iter().any(|c| c == "CAP_SYS_ADMIN");
    let mut names: Vec<&str> = DENIED_SYSCALLS.to_vec();
    if !admin {
        names.extend_from_slice(ADMIN_SYSCALLS);
    }
    let mut syscalls = vec![json!({
        "names": names,
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": 1,
    })];
    if !admin {
        for flag in CLONE_NS_FLAGS {
            syscalls.push(json!({
                "names": ["clone"],
                "action": "SCMP_ACT_ERRNO",
                "errnoRet": 1,
                "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
            }));
        }
        syscalls.push(json!({
            "names": ["clone3"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 38,
        }));
    }
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
        "syscalls": syscalls,
    })
}

/// The `linux.seccomp` section for a container with capabilities `caps`, or `None`.
pub fn profile(choice: &Seccomp, caps: &[String]) -> Result<Option<Value>, ContainerError> {
    match choice {
        Seccomp::Default => Ok(Some(default_profile(caps))),
        Seccomp::Unconfined => Ok(None),
        Seccomp::Profile(p) => from_docker(p, caps).map(Some),
    }
}

/// The architecture names of this machine as seccomp profiles write them.
const NATIVE: &[&str] = &["SCMP_ARCH_X86_64", "amd64", "x86_64"];

/// A Docker-format profile as the OCI spec has it.
fn from_docker(p: &Value, caps: &[String]) -> Result<Value, ContainerError> {
    let bad = |what: &str| {
        ContainerError::Invalid(format!(
            "--security-opt seccomp: {what}; give a profile in Docker's format (defaultAction, syscalls)"
        ))
    };
    let default = p["defaultAction"]
        .as_str()
        .ok_or_else(|| bad("the profile has no defaultAction"))?;
    let mut architectures: Vec<Value> = match p["architectures"].as_array() {
        Some(a) => a.clone(),
        None => Vec::new(),
    };
    for m in p["archMap"].as_array().into_iter().flatten() {
        architectures.push(m["architecture"].clone());
        architectures.extend(
            m["subArchitectures"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    // A rule's `includes` must all hold; any of its `excludes` rules it out.
    let has_cap = |c: &Value| c.as_str().is_some_and(|c| caps.iter().any(|k| k == c));
    let native = |x: &Value| x.as_str().is_some_and(|x| NATIVE.contains(&x));
    let list = |cond: &Value, key: &str| cond[key].as_array().cloned();
    let fits = |cond: &Value| {
        list(cond, "caps").is_none_or(|cs| cs.iter().all(has_cap))
            && list(cond, "arches").is_none_or(|a| a.iter().any(native))
    };
    let excluded = |cond: &Value| {
        list(cond, "caps").is_some_and(|cs| cs.iter().any(has_cap))
            || list(cond, "arches").is_some_and(|a| a.iter().any(native))
    };
    let mut syscalls = Vec::new();
    for rule in p["syscalls"].as_array().into_iter().flatten() {
        if !fits(&rule["includes"]) || excluded(&rule["excludes"]) {
            continue;
        }
        let mut names: Vec<Value> = rule["names"].as_array().cloned().unwrap_or_default();
        if let Some(n) = rule["name"].as_str() {
            names.push(json!(n));
        }
        let action = rule["action"]
            .as_str()
            .ok_or_else(|| bad("a syscall rule has no action"))?;
        let mut out = json!({"names": names, "action": action});
        for key in ["args", "errnoRet"] {
            if !rule[key].is_null() {
                out[key] = rule[key].clone();
            }
        }
        syscalls.push(out);
    }
    let mut out = json!({
        "defaultAction": default,
        "architectures": architectures,
        "syscalls": syscalls,
    });
    if !p["defaultErrnoRet"].is_null() {
        out["defaultErrnoRet"] = p["defaultErrnoRet"].clone();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_profiles_keep_the_rules_that_fit() {
        let p = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["arm_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
            ],
        });
        let plain = from_docker(&p, &[]).unwrap();
        let names = |v: &Value| -> Vec<String> {
            v["syscalls"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| {
                    r["names"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| n.as_str().unwrap().to_string())
                })
                .collect()
        };
        assert_eq!(names(&plain), ["read", "write", "ptrace"]);
        assert_eq!(
            plain["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
        );
        let admin = from_docker(&p, &["CAP_SYS_ADMIN".into()]).unwrap();
        assert_eq!(names(&admin), ["read", "write", "mount"]);
        assert!(from_docker(&json!({"syscalls": []}), &[]).is_err());
        assert!(profile(&Seccomp::Unconfined, &[]).unwrap().is_none());
    }
}
