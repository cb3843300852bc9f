//! Interactive containers on the embedded engine, driven through the binary on a real
//! pseudo-terminal: `run -it` with a terminal that follows resizes and detaches with ctrl-p
//! ctrl-q, `attach` and `start -ai` back into it, `exec -it` with a terminal of its own, and
//! `run -i` feeding stdin through the monitor. Containers are removed on drop.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::engine::Engine;
use common::pty::Pty;
use common::unique;

/// An engine root with the busybox test image loaded.
fn loaded() -> (Engine, String) {
    Engine::with_busybox()
}

#[test]
fn run_it_is_a_terminal_that_resizes_detaches_and_attaches_again() {
    let (e, image) = loaded();
    let name = unique("tty");
    // What the container prints before its shell starts is seen too: run attaches first.
    let mut t = Pty::spawn(
        e.command(&[
            "run",
            "-it",
            "--name",
            &name,
            &image,
            "sh",
            "-c",
            "echo first-words; exec sh",
        ]),
        80,
        24,
    );
    t.expect("first-words");
    t.expect("# ");
    t.send("stty size; tty; echo $$\r");
    t.expect("24 80");
    t.expect("/dev/pts/0");
    t.expect("\n1\r");
    // A resize reaches the shell through the CLI, the attach socket and the monitor.
    t.resize_and_check(100, 30);
    // ctrl-p ctrl-q: the CLI ends with 0 and the container runs on.
    t.send("\x10\x11");
    assert_eq!(t.wait(), 0, "{}", t.screen());
    assert_eq!(e.status(&name), "running");
    drop(t);

    // Attach again; the detach keys never reached the shell, so its line is empty.
    let mut t = Pty::spawn(e.command(&["attach", &name]), 90, 20);
    t.send("echo $((6*7))\r");
    t.expect("42");
    t.send("stty size\r");
    t.expect("20 90");
    t.send("exit 3\r");
    assert_eq!(t.wait(), 3, "{}", t.screen());
    assert_eq!(e.status(&name), "exited");
    assert_eq!(e.inspect(&name)["State"]["ExitCode"], 3);

    // `attach` to a stopped container says what to do.
    let err = e.fails(&["attach", &name], 125);
    assert!(err.contains("not running"), "{err}");
    // start -ai brings it back on this terminal, from its very first output.
    let mut t = Pty::spawn(e.command(&["start", "-ai", &name]), 80, 24);
    t.expect("first-words");
    t.send("echo back-again\r");
    t.expect("back-again");
    t.send("exit 0\r");
    assert_eq!(t.wait(), 0, "{}", t.screen());
    // The terminal's output is the container's log, as docker keeps it.
    let logs = e.ok(&["logs", &name]);
    assert!(
        logs.contains("first-words") && logs.contains("42"),
        "{logs}"
    );
    // The monitor is gone and took its attach socket with it.
    let id = e.inspect(&name)["Id"].as_str().unwrap().to_string();
    e.ok(&["rm", &name]);
    assert!(
        !std::path::Path::new("/run/dockhand/attach")
            .join(&id)
            .exists()
    );
}

#[test]
fn exec_it_gets_a_terminal_of_its_own() {
    let (e, image) = loaded();
    let name = unique("exec");
    e.ok(&["run", "-d", "--name", &name, &image, "sleep", "300"]);
    let mut t = Pty::spawn(e.command(&["exec", "-it", &name, "sh"]), 70, 15);
    t.expect("# ");
    t.send("stty size; tty; ps -o pid,args | grep -c sleep\r");
    t.expect("15 70");
    t.expect("/dev/pts/");
    t.resize_and_check(120, 40);
    // ctrl-c goes to the command on the terminal, not to the CLI.
    t.send("sleep 100\r");
    e.wait_for("sleep 100 to run", || {
        e.ok(&["top", &name])
            .lines()
            .any(|l| l.ends_with("sleep 100"))
    });
    t.send("\x03");
    t.send("echo still-here\r");
    t.expect("still-here");
    t.send("exit 7\r");
    assert_eq!(t.wait(), 7, "{}", t.screen());

    let mut t = Pty::spawn(e.command(&["exec", "-it", &name, "no-such-tool"]), 80, 24);
    assert_eq!(t.wait(), 127, "{}", t.screen());
    assert!(t.screen().contains("no-such-tool"), "{}", t.screen());
    assert_eq!(e.status(&name), "running");
}

#[test]
fn run_i_feeds_stdin_and_ends_when_it_ends() {
    let (e, image) = loaded();
    let mut c = e.command(&[
        "run",
        "--rm",
        "-i",
        &image,
        "sh",
        "-c",
        "wc -l; echo done >&2; exit 4",
    ]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let lines: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    let writer = std::thread::spawn(move || {
        input.write_all(lines.as_bytes()).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5000");
    assert!(String::from_utf8_lossy(&out.stderr).contains("done"));

    // -d -i keeps stdin open for whoever attaches later; the container waits on it.
    let name = unique("stdin");
    e.ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        &name,
        &image,
        "sh",
        "-c",
        "read x; echo got-$x",
    ]);
    let mut c = e.command(&["attach", &name]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "got-hello");
    e.wait_for("the container to end", || e.status(&name) == "exited");
}
