//! Supervision on the embedded engine, as root, by killing processes on purpose: a monitor
//! killed with kill -9 is found by the next command (or reported by `system check`), its
//! container stopped and the loss recorded with its time, and the restart policy applied;
//! processes left without a record are found and stopped; and a crash campaign — the CLI
//! killed at random moments of run, start, stop, rm, create, rename, commit, build, pull,
//! load, volume and network create and rm, and run --rm — after which
//! `system check` finds nothing, no process of the test runs unsupervised, and every
//! operation works again.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::engine::Engine;
use common::registry::Registry;
use common::{images, processes, running, unique};

/// The recorded state of container `id`.
fn state(e: &Engine, id: &str) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(e.root().join("containers").join(id).join("state.json")).unwrap(),
    )
    .unwrap()
}

fn kill9(pid: i64) {
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill (procps; scripts/test.sh installs it)");
}

/// `run -d --name NAME --restart POLICY --network none IMAGE sleep SECONDS`.
fn run_args<'a>(name: &'a str, policy: &'a str, image: &'a str, seconds: &'a str) -> [&'a str; 11] {
    [
        "run",
        "-d",
        "--name",
        name,
        "--restart",
        policy,
        "--network",
        "none",
        image,
        "sleep",
        seconds,
    ]
}

/// [`run_args`] run; the container's id.
fn detached(e: &Engine, name: &str, policy: &str, image: &str, seconds: &str) -> String {
    e.ok(&run_args(name, policy, image, seconds))
        .trim()
        .to_string()
}

#[test]
fn a_lost_monitor_is_found_its_container_stopped_and_the_policy_applied() {
    let (e, image) = Engine::with_busybox();
    let plain = unique("lost");
    let always = unique("lost-always");
    let ids: Vec<String> = [(&plain, "no"), (&always, "always")]
        .iter()
        .map(|(name, policy)| detached(&e, name, policy, &image, "600"))
        .collect();
    let before: Vec<(i64, i64)> = ids
        .iter()
        .map(|id| {
            let s = state(&e, id);
            (
                s["monitor_pid"].as_i64().unwrap(),
                s["pid"].as_i64().unwrap(),
            )
        })
        .collect();
    for (monitor, _) in &before {
        kill9(*monitor);
    }
    e.wait_for("the monitors to be gone", || {
        before.iter().all(|(m, _)| !running(*m))
    });
    // The check reports it as found, changing nothing.
    let out = e.run(&["system", "check"]);
    let report = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for (name, (monitor, _)) in [&plain, &always].iter().zip(&before) {
        assert!(
            report.contains(&format!(
                "container {name}: its monitor (pid {monitor}) is gone; its processes run unsupervised"
            )),
            "{report}"
        );
    }
    assert!(
        running(before[0].1),
        "check without --repair changes nothing"
    );

    // The next command finds it: stopped, the loss recorded with its time.
    let ps = e.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.contains(&format!("{plain} Exited (255)")), "{ps}");
    assert!(!running(before[0].1), "the container's process is stopped");
    let inspect = e.inspect(&plain);
    let st = &inspect["State"];
    assert!(
        st["Error"].as_str().unwrap().contains("monitor was lost"),
        "{st}"
    );
    assert_ne!(st["FinishedAt"], "0001-01-01T00:00:00Z", "{st}");
    std::thread::sleep(Duration::from_millis(1100));
    let ps = e.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        ps.contains(&format!("{plain} Exited (255) 1 second ago"))
            || ps.contains(&format!("{plain} Exited (255) 2 seconds ago")),
        "the time of the loss stays: {ps}"
    );
    // `always` is back, under a new monitor.
    let s = state(&e, &ids[1]);
    assert_eq!(s["status"], "running", "{s}");
    assert_ne!(s["monitor_pid"].as_i64(), Some(before[1].0));
    assert!(running(s["monitor_pid"].as_i64().unwrap()));
    assert!(!running(before[1].1));
    assert_eq!(e.inspect(&always)["RestartCount"], 1);
    assert!(e.ok(&["system", "check"]).contains("No problems found"));
    // Both work as any container does.
    e.ok(&["start", &plain]);
    assert_eq!(e.status(&plain), "running");
    e.ok(&["rm", "-f", &plain, &always]);
    assert_eq!(e.ok(&["ps", "-aq"]).trim(), "");
}

#[test]
fn processes_left_without_a_record_are_found_and_stopped() {
    let (e, image) = Engine::with_busybox();
    let name = unique("unrecorded");
    let seconds = format!("{}", 4000 + std::process::id() % 1000);
    let id = detached(&e, &name, "no", &image, &seconds);
    let s = state(&e, &id);
    kill9(s["monitor_pid"].as_i64().unwrap());
    e.wait_for("the monitor to be gone", || {
        !running(s["monitor_pid"].as_i64().unwrap())
    });
    // As an rm killed after it took the record out of the store leaves it.
    std::fs::create_dir_all(e.root().join("tmp")).unwrap();
    std::fs::rename(
        e.root().join("containers").join(&id),
        e.root().join("tmp").join(format!("removed-{id}")),
    )
    .unwrap();
    let names = e.root().join("containers/names").join(&name);
    let _ = std::fs::remove_file(names);
    assert_eq!(processes(&["sleep", &seconds]).len(), 1);
    let out = e.run(&["system", "check"]);
    let report = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!(
            "removed container {}: its processes run without a record",
            &id[..12]
        )),
        "{report}"
    );
    // Any command stops it.
    e.ok(&["ps", "-a"]);
    e.wait_for("the process to be stopped", || {
        processes(&["sleep", &seconds]).is_empty()
    });
    let check = e.ok(&["system", "check"]);
    assert!(check.contains("No problems found"), "{check}");
}

/// The next event of `events` that is `action` on container `id`, within ten seconds.
async fn next_event(
    events: &mut dockhand::backend::ResultStream<dockhand::model::Event>,
    action: &str,
    id: &str,
) -> dockhand::model::Event {
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = events
                .next()
                .await
                .expect("the events stream ended")
                .unwrap();
            if event.action == action && event.id == id {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {action} event for {id} within 10 s"))
}

#[test]
fn the_events_stream_tells_of_a_lost_monitor_that_nobody_listed() {
    use dockhand::backend::prelude::*;
    let (e, image) = Engine::with_busybox();
    let before = unique("watched-before");
    let after = unique("watched-after");
    let backend = e.backend();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lost = unique("watched-lost");
    runtime.block_on(async {
        // One container whose monitor is gone before the stream opens, one running when it
        // opens, one started while it is open.
        let gone = detached(&e, &lost, "no", &image, "600");
        let first = detached(&e, &before, "no", &image, "600");
        let monitor = state(&e, &gone)["monitor_pid"].as_i64().unwrap();
        kill9(monitor);
        e.wait_for("the monitor to be gone", || !running(monitor));
        let mut events = backend.events().await.unwrap();
        next_event(&mut events, "die", &gone).await;
        assert_eq!(state(&e, &gone)["status"], "exited");
        let second = detached(&e, &after, "no", &image, "600");
        next_event(&mut events, "start", &second).await;
        for id in [&first, &second] {
            kill9(state(&e, id)["monitor_pid"].as_i64().unwrap());
            // Nothing else reads the container: the stream itself finds it stopped.
            next_event(&mut events, "die", id).await;
            let s = state(&e, id);
            assert_eq!(s["status"], "exited", "{s}");
            assert!(
                s["error"].as_str().unwrap().contains("monitor was lost"),
                "{s}"
            );
        }
    });
    e.ok(&["rm", &lost, &before, &after]);
}

/// How many times the threads of process `pid` have been scheduled (voluntary and not).
fn switches(pid: i64) -> u64 {
    let mut n = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        n += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .map(|l| l.split_whitespace().last().unwrap().parse::<u64>().unwrap())
            .sum::<u64>();
    }
    n
}

#[test]
fn an_idle_monitor_sleeps_until_its_container_or_a_client_needs_it() {
    let (e, image) = Engine::with_busybox();
    let name = unique("idle");
    let id = detached(&e, &name, "no", &image, "600");
    let monitor = state(&e, &id)["monitor_pid"].as_i64().unwrap();
    // Past its start-up: from here nothing happens in the container.
    std::thread::sleep(Duration::from_millis(500));
    let before = switches(monitor);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        switches(monitor),
        before,
        "the monitor of an idle container woke up by itself"
    );
    // Yet the container's end reaches it at once.
    let stopped = Instant::now();
    e.ok(&["stop", "-t", "1", &name]);
    e.wait_for("the monitor to end", || !running(monitor));
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "the stop took {:?}",
        stopped.elapsed()
    );
    assert_eq!(state(&e, &id)["status"], "exited", "{}", records(&e));
    e.ok(&["rm", &name]);
}

/// Every container's recorded state and monitor log, for a failure's message.
fn records(e: &Engine) -> String {
    let Ok(dirs) = std::fs::read_dir(e.root().join("containers")) else {
        return String::new();
    };
    dirs.flatten()
        .filter(|d| d.path().join("state.json").exists())
        .map(|d| {
            let read = |f: &str| std::fs::read_to_string(d.path().join(f)).unwrap_or_default();
            format!(
                "{}:\n{}\nmonitor.log:\n{}",
                d.file_name().to_string_lossy(),
                read("state.json"),
                read("monitor.log")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One CLI command killed with SIGKILL after `delay`; whether it had finished by then.
fn killed_after(e: &Engine, args: &[&str], delay: Duration) -> bool {
    let mut child = e.command(args).spawn().unwrap();
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

#[test]
fn kill_9_anywhere_leaves_nothing_half_made_or_unsupervised() {
    let (e, image) = Engine::with_busybox();
    let seconds = format!("{}", 5000 + std::process::id() % 1000);
    // An image to pull from a registry on loopback, and one to load from a file: both
    // bigger than busybox alone, so a kill finds them half-way more often.
    let registry = Registry::start(None);
    let filler = vec![7u8; 3 << 20];
    let bigger = images::archive_of(
        &[
            images::base_layer(),
            images::change_layer(),
            images::layer(&[images::Entry::File("filler", &filler, 0o644)]),
        ],
        "crash/loaded:1",
    );
    registry.push_archive(&bigger, "crash/pulled:1", &[]);
    let pulled = format!("{}/crash/pulled:1", registry.host);
    let archive = e.write("loaded.tar", &bigger);
    let archive = archive.to_str().unwrap();
    // Each run tries other moments; a failure names its seed, and DH_CRASH_SEED replays it.
    let mut rng = common::Rng::from_env("DH_CRASH_SEED", "crash campaign");
    let seed0 = rng.seed();
    let mut next = move || rng.next();
    let start = Instant::now();
    let mut trials = 0;
    while trials < 60 && start.elapsed() < Duration::from_secs(75) {
        trials += 1;
        let name = format!("crash{trials}");
        let kind = next() % 12;
        // Within the time the operation takes here.
        let span = match kind {
            10 => 500,
            11 => 550,
            _ => 60,
        };
        let delay = Duration::from_millis(next() % span);
        let policy = if next() % 3 == 0 { "always" } else { "no" };
        let run = run_args(&name, policy, &image, &seconds);
        let made = format!("made{trials}");
        let mut finished = false;
        match kind {
            // run -d itself killed.
            0 => {
                killed_after(&e, &run, delay);
            }
            // rm -f of a running container killed.
            1 => {
                e.ok(&run);
                killed_after(&e, &["rm", "-f", &name], delay);
            }
            // stop killed.
            2 => {
                e.ok(&run);
                killed_after(&e, &["stop", "-t", "0", &name], delay);
            }
            // create then start killed.
            3 => {
                e.ok(&[
                    "create",
                    "--name",
                    &name,
                    "--network",
                    "none",
                    &image,
                    "sleep",
                    &seconds,
                ]);
                killed_after(&e, &["start", &name], delay);
            }
            // rename killed: one name or the other.
            5 => {
                e.ok(&run);
                killed_after(&e, &["rename", &name, &made], delay);
                let names = e.ok(&["ps", "-a", "--format", "{{.Names}}"]);
                assert!(
                    names.lines().filter(|n| *n == name || *n == made).count() == 1,
                    "seed {seed0}, trial {trials}: {names}"
                );
                let _ = e.run(&["rm", "-f", &made]);
            }
            // commit killed: an image or none, nothing half made.
            6 => {
                e.ok(&run);
                killed_after(&e, &["commit", &name, &format!("{made}:1")], delay);
                let _ = e.run(&["rmi", &format!("{made}:1")]);
            }
            // build killed, during its RUN or before.
            7 => {
                let ctx = e.dir.path().join(format!("ctx{trials}"));
                std::fs::create_dir_all(&ctx).unwrap();
                std::fs::write(
                    ctx.join("Dockerfile"),
                    format!("FROM {image}\nRUN sleep 0.03; echo {trials} > /f\n"),
                )
                .unwrap();
                killed_after(
                    &e,
                    &[
                        "build",
                        "-q",
                        "--network",
                        "none",
                        "-t",
                        &format!("{made}:1"),
                        ctx.to_str().unwrap(),
                    ],
                    delay,
                );
                let _ = e.run(&["rmi", &format!("{made}:1")]);
            }
            // volume create and rm killed.
            8 => {
                killed_after(&e, &["volume", "create", &made], delay);
                killed_after(&e, &["volume", "rm", &made], delay);
                let _ = e.run(&["volume", "rm", "-f", &made]);
            }
            // network create and rm killed.
            9 => {
                killed_after(&e, &["network", "create", &made], delay);
                killed_after(&e, &["network", "rm", &made], delay);
                let _ = e.run(&["network", "rm", &made]);
                assert!(
                    !e.ok(&["network", "ls", "--format", "{{.Name}}"])
                        .lines()
                        .any(|n| n == made),
                    "seed {seed0}, trial {trials}: the network stays"
                );
            }
            // pull killed: the image whole or absent, and the next pull finishes it.
            10 => {
                finished = killed_after(&e, &["pull", &pulled], delay);
                e.ok(&["pull", &pulled]);
                e.ok(&["run", "--rm", "--network", "none", &pulled, "true"]);
                e.ok(&["rmi", &pulled]);
            }
            // load killed: the same.
            11 => {
                finished = killed_after(&e, &["load", "-q", "-i", archive], delay);
                e.ok(&["load", "-q", "-i", archive]);
                e.ok(&["run", "--rm", "--network", "none", "crash/loaded:1", "true"]);
                e.ok(&["rmi", "crash/loaded:1"]);
            }
            // run --rm killed.
            _ => {
                killed_after(
                    &e,
                    &[
                        "run",
                        "--rm",
                        "--name",
                        &name,
                        "--network",
                        "none",
                        &image,
                        "true",
                    ],
                    delay,
                );
            }
        }
        let trial_start = Instant::now();
        // The next command sees one state or the other, and can always clean up.
        let ps = e.run(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
        assert!(
            ps.status.success(),
            "seed {seed0}, trial {trials}: {}",
            common::stderr(&ps)
        );
        if common::stdout(&ps).contains(&name) {
            let out = e.run(&["rm", "-f", &name]);
            // A `run --rm` whose CLI was killed goes on and may remove it first.
            let err = common::stderr(&out);
            if !out.status.success() && !err.contains("no such container") {
                panic!("seed {seed0}, trial {trials}: {err}\n{}", records(&e));
            }
        }
        e.wait_for("no process of the trial left", || {
            processes(&["sleep", &seconds]).is_empty()
        });
        eprintln!(
            "trial {trials} ({kind}, {delay:?}, {policy}, finished: {finished}): {} cleaned up in {:?}",
            common::stdout(&ps).trim().replace('\n', "; "),
            trial_start.elapsed()
        );
    }
    let check = e.run(&["system", "check"]);
    assert!(
        check.status.success(),
        "seed {seed0}, after {trials} trials: {}",
        common::stdout(&check)
    );
    // Everything works again.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "after",
        "--network",
        "none",
        &image,
        "sleep",
        &seconds,
    ]);
    e.ok(&["rm", "-f", "after"]);
    assert_eq!(e.ok(&["ps", "-aq"]).trim(), "");
}
