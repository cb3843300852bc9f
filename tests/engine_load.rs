//! Load on one engine root, as root: 20 concurrent CLI loops doing run -d, exec, stop,
//! start and rm -f on a few shared names for a minute. Every command either works or is
//! refused with one of the messages a user would expect from such a race (the name is in
//! use, the container is gone or not running); afterwards no name is held twice, every
//! record was made by a `run` that said it made it, nothing runs without a record, and
//! `system check` finds the root clean.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::engine::Engine;
use common::{Rng, stderr, stdout};

const LOOPS: usize = 20;
const NAMES: usize = 4;

/// What racing commands may say when they lose: anything else is a failure.
const EXPECTED_REFUSALS: &[&str] = &[
    "is already in use",
    "no such container",
    "is not running",
    "is being removed",
    "is restarting",
    "is not paused",
];

/// Processes of the test: `sleep SECONDS` with this run's own number.
fn sleepers(seconds: &str) -> Vec<i64> {
    common::processes(&["sleep", seconds])
}

#[test]
fn twenty_concurrent_cli_loops_keep_one_root_consistent() {
    let (e, image) = Engine::with_busybox();
    let e = Arc::new(e);
    let seconds = format!("{}", 7000 + std::process::id() % 1000);
    let names: Vec<String> = (0..NAMES)
        .map(|n| common::unique(&format!("load{n}")))
        .collect();
    let mut rng = Rng::from_env("DH_LOAD_SEED", "load test");
    let seeds: Vec<u64> = (0..LOOPS).map(|_| rng.next()).collect();
    let secs: u64 = std::env::var("DH_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let deadline = Instant::now() + Duration::from_secs(secs);
    // Ids printed by a `run -d` that succeeded; failures nobody expects; names seen twice.
    let made = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let unexpected = Arc::new(Mutex::new(Vec::<String>::new()));
    let counts = Arc::new(Mutex::new(BTreeMap::<&'static str, (u32, u32)>::new()));

    let mut loops = Vec::new();
    for seed in seeds {
        let (e, image, names, seconds) = (e.clone(), image.clone(), names.clone(), seconds.clone());
        let (made, unexpected, counts) = (made.clone(), unexpected.clone(), counts.clone());
        loops.push(std::thread::spawn(move || {
            let mut rng = Rng::new(seed);
            while Instant::now() < deadline {
                let name = names[rng.below(NAMES as u64) as usize].as_str();
                let (op, args): (&'static str, Vec<&str>) = match rng.below(10) {
                    0..=2 => (
                        "run",
                        vec![
                            "run",
                            "-d",
                            "--name",
                            name,
                            "--network",
                            "none",
                            &image,
                            "sleep",
                            &seconds,
                        ],
                    ),
                    3..=4 => ("exec", vec!["exec", name, "true"]),
                    5 => ("stop", vec!["stop", "-t", "1", name]),
                    6 => ("start", vec!["start", name]),
                    _ => ("rm", vec!["rm", "-f", name]),
                };
                let out = e.run(&args);
                let worked = out.status.success();
                {
                    let mut c = counts.lock().unwrap();
                    let entry = c.entry(op).or_default();
                    if worked {
                        entry.0 += 1;
                    } else {
                        entry.1 += 1;
                    }
                }
                if worked {
                    if op == "run" {
                        made.lock().unwrap().insert(stdout(&out).trim().to_string());
                    }
                    continue;
                }
                let err = stderr(&out);
                let expected = out.status.code().is_some_and(|c| c == 1 || c == 125)
                    && EXPECTED_REFUSALS
                        .iter()
                        .any(|r| err.to_lowercase().contains(r))
                    || op == "exec" && out.status.code().is_some_and(|c| c == 137 || c == 143);
                if !expected {
                    unexpected
                        .lock()
                        .unwrap()
                        .push(format!("{args:?} → {:?}: {err}", out.status.code()));
                }
            }
        }));
    }
    // Meanwhile, every listing shows each name once at most.
    let mut listings = 0;
    let mut twice = Vec::new();
    while Instant::now() < deadline {
        let out = e.run(&["ps", "-a", "--format", "{{.Names}}"]);
        assert!(out.status.success(), "ps -a under load: {}", stderr(&out));
        let listed = stdout(&out);
        let mut seen = BTreeSet::new();
        for n in listed.lines() {
            if !seen.insert(n) {
                twice.push(listed.clone());
            }
        }
        listings += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    for l in loops {
        l.join().expect("a loop panicked");
    }
    let counts = counts.lock().unwrap().clone();
    eprintln!("{listings} listings; (worked, refused) per command: {counts:?}");
    let unexpected = unexpected.lock().unwrap().clone();
    assert!(
        unexpected.is_empty(),
        "unexpected failures:\n{}",
        unexpected.join("\n")
    );
    assert!(
        twice.is_empty(),
        "a name listed twice:\n{}",
        twice.join("\n---\n")
    );
    assert!(
        counts["run"].0 > 0 && counts["exec"].0 > 0 && counts["rm"].0 > 0,
        "{counts:?}"
    );

    // Every record left was made by a run that said so, and holds one of the names.
    let ids = stdout(&e.run(&["ps", "-a", "-q", "--no-trunc"]));
    let made = made.lock().unwrap().clone();
    for id in ids.lines() {
        assert!(
            made.contains(id),
            "record {id} was not made by a successful run"
        );
    }
    let listed = e.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    let left: BTreeSet<&str> = listed.lines().collect();
    assert_eq!(left.len(), listed.lines().count(), "{listed}");
    assert!(
        left.iter().all(|n| names.iter().any(|m| m == n)),
        "{listed}"
    );
    let records = std::fs::read_dir(e.root().join("containers"))
        .unwrap()
        .count();
    assert_eq!(records, left.len(), "records on disk vs listed: {listed}");

    // Every running container's process is one of the records'; nothing else runs.
    let running: usize = e.ok(&["ps", "-q"]).lines().count();
    assert_eq!(
        sleepers(&seconds).len(),
        running,
        "processes vs running containers"
    );
    let clean = |when: &str| {
        let check = e.run(&["system", "check"]);
        assert!(
            check.status.success(),
            "system check {when}: {}{}",
            stdout(&check),
            stderr(&check)
        );
    };
    clean("after the load");
    for n in &names {
        let _ = e.run(&["rm", "-f", n]);
    }
    e.wait_for("every sleeper gone", || sleepers(&seconds).is_empty());
    clean("at the end");
}
