//! Container logs on the embedded engine, as root: `--log-driver json-file|none` and
//! `--log-opt max-size=,max-file=` as Docker has them, and a `logs -f` that follows a
//! container while its log files rotate many times and loses no line.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::engine::Engine;
use common::unique;

/// How many lines the rotating container writes.
const LINES: usize = 3000;

#[test]
fn logs_follow_loses_no_line_while_the_files_rotate() {
    let (e, image) = Engine::with_busybox();
    let name = unique("rotating");
    let signal = e.dir.path().join("signal");
    std::fs::create_dir_all(&signal).unwrap();
    let bind = format!("{}:/signal", signal.display());
    // It says it is ready, waits until the test follows it, then writes fast enough to
    // rotate a 4k file every few dozen milliseconds.
    let script = format!(
        "echo ready; until [ -e /signal/go ]; do usleep 10000; done; \
         i=0; while [ $i -lt {LINES} ]; do echo \"line $i\"; i=$((i+1)); \
         [ $((i % 10)) = 0 ] && usleep 1000; done"
    );
    e.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        "-v",
        &bind,
        "--log-opt",
        "max-size=4k",
        "--log-opt",
        "max-file=3",
        &image,
        "sh",
        "-c",
        &script,
    ]);
    let mut follow = e
        .command(&["logs", "-f", &name])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    std::fs::write(signal.join("go"), "").unwrap();
    let followed: Vec<String> = lines.map(Result::unwrap).collect();
    let status = follow.wait().unwrap();
    assert!(status.success(), "logs -f ended with {status}");
    let want: Vec<String> = (0..LINES).map(|i| format!("line {i}")).collect();
    let lost = want.iter().filter(|l| !followed.contains(l)).count();
    assert_eq!(lost, 0, "lines lost by logs -f across rotation");
    assert_eq!(followed, want, "every line once, in order");

    // The files rotated as asked: three kept, none past 4k.
    let id = e.inspect(&name)["Id"].as_str().unwrap().to_string();
    let logs = e.root().join("containers").join(&id).join("logs");
    for kept in ["container.log", "container.log.1", "container.log.2"] {
        let size = std::fs::metadata(logs.join(kept)).unwrap().len();
        assert!(size <= 4096, "{kept} holds {size} bytes");
    }
    assert!(
        !logs.join("container.log.3").exists(),
        "max-file=3 keeps three"
    );
    let config = &e.inspect(&name)["HostConfig"]["LogConfig"];
    assert_eq!(config["Type"], "json-file");
    assert_eq!(config["Config"]["max-size"], "4096");
    assert_eq!(config["Config"]["max-file"], "3");
    // What the kept files hold is the end of the output.
    let history = e.ok(&["logs", &name]);
    assert!(history.ends_with(&format!("line {}\n", LINES - 1)));
    e.ok(&["rm", "-f", &name]);
}

#[test]
fn the_none_driver_keeps_nothing_and_logs_says_so() {
    let (e, image) = Engine::with_busybox();
    let name = unique("silent");
    // A foreground run still shows its output: that goes to the client, not to a log.
    let out = e.ok(&[
        "run",
        "--name",
        &name,
        "--network",
        "none",
        "--log-driver",
        "none",
        &image,
        "echo",
        "unkept",
    ]);
    assert_eq!(out, "unkept\n");
    let err = e.fails(&["logs", &name], 125);
    assert!(err.contains("none driver"), "{err}");
    assert!(err.contains("--log-driver json-file"), "{err}");
    assert_eq!(e.inspect(&name)["HostConfig"]["LogConfig"]["Type"], "none");
    let id = e.inspect(&name)["Id"].as_str().unwrap().to_string();
    let log = e
        .root()
        .join("containers")
        .join(&id)
        .join("logs/container.log");
    assert!(!log.exists(), "no log file is written");
    e.ok(&["rm", &name]);

    // The default stays json-file, 10 MiB × 3.
    let kept = unique("kept");
    e.ok(&[
        "run",
        "--name",
        &kept,
        "--network",
        "none",
        &image,
        "echo",
        "kept",
    ]);
    assert_eq!(e.ok(&["logs", &kept]), "kept\n");
    let config = &e.inspect(&kept)["HostConfig"]["LogConfig"];
    assert_eq!(config["Type"], "json-file");
    assert_eq!(config["Config"]["max-size"], (10u64 << 20).to_string());
    assert_eq!(config["Config"]["max-file"], "3");
    e.ok(&["rm", &kept]);
}

#[test]
fn bad_log_options_are_refused_and_create_nothing() {
    let (e, image) = Engine::with_busybox();
    for (flags, says) in [
        (&["--log-driver", "syslog"][..], "json-file or none"),
        (&["--log-opt", "max-size=lots"][..], "max-size"),
        (&["--log-opt", "max-file=0"][..], "1 or more"),
        (&["--log-opt", "compress=true"][..], "max-size and max-file"),
        (&["--log-opt", "max-size"][..], "KEY=VALUE"),
        (
            &["--log-driver", "none", "--log-opt", "max-size=1m"][..],
            "no options",
        ),
    ] {
        let mut args = vec!["run", "-d", "--name", "refused"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&image, "true"]);
        let err = e.fails(&args, 125);
        assert!(err.contains(says), "{flags:?}: {err}");
    }
    assert_eq!(e.ok(&["ps", "-a", "-q"]), "", "nothing was created");
}
