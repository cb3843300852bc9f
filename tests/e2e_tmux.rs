//! End to end: the real binary in tmux with `--demo`. Switches panes, filters, opens help,
//! follows a rebound key from the config file, hands the terminal to a shell and to an
//! attached process and takes it back, runs `exec -it` from the command line, and quits
//! with exit status 0. The same on dockerd and on the embedded engine (no -H): run from the
//! dialog, logs, a shell, attach and detach, remove.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// A private tmux server running dockhand; killed on drop, even when the test fails.
struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    fn start(config: &str) -> Tmux {
        Tmux::run(&["--demo"], config)
    }

    /// Starts dockhand with `args` and `--config` pointing at `config`.
    fn run(args: &[&str], config: &str) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = format!(
            "dockhand-e2e-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::SeqCst)
        );
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config).unwrap();
        let status_path = dir.path().join("status");
        let command = format!(
            "{} --config {} {}; echo $? > {}",
            env!("CARGO_BIN_EXE_dockhand"),
            config_path.display(),
            args.join(" "),
            status_path.display()
        );
        let tmux = Tmux { socket, dir };
        let out = tmux
            .cmd(&["new-session", "-d", "-x", "110", "-y", "32", "-s", "e2e"])
            .arg(command)
            .env("TERM", "xterm-256color")
            .output()
            .expect("tmux must be installed (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        // The server's socket lives in the test's temporary directory and goes with it.
        c.env("TMUX_TMPDIR", self.dir.path())
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args);
        c
    }

    fn send(&self, keys: &[&str]) {
        for key in keys {
            let ok = self
                .cmd(&["send-keys", "-t", "e2e"])
                .arg(key)
                .status()
                .unwrap();
            assert!(ok.success());
            // Separate keys so an escape is not read as alt-<next key>.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn screen(&self) -> String {
        let out = self
            .cmd(&["capture-pane", "-p", "-t", "e2e"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    fn status_path(&self) -> PathBuf {
        self.dir.path().join("status")
    }

    fn wait_exit(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(15);
        let path = self.status_path();
        loop {
            if let Some(code) = read_status(&path) {
                return code;
            }
            assert!(
                Instant::now() < deadline,
                "dockhand did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Tmux {
    /// Runs `image` as `name` from the run dialog with a loop doing `each` after a ready
    /// marker, then filters the list down to it and waits for its logs.
    fn run_from_dialog(&self, image: &str, name: &str, each: &str) {
        self.send(&["c"]);
        self.wait_text("Run a container");
        self.send(&["-l", image]);
        self.send(&["Tab", "-l", name, "Tab"]);
        let command = format!("sh -c 'echo ready-marker; while true; do {each}; done'");
        self.send(&["-l", &command, "Enter"]);
        self.wait_text(&format!("started {name}"));
        self.send(&["/"]);
        self.send(&["-l", name]);
        self.send(&["Enter"]);
        self.wait_text("(1 of ");
        self.wait_text("ready-marker");
    }

    /// Opens a shell in the selected container `name`, checks it has the terminal at its
    /// size, and leaves it.
    fn shell_and_back(&self, name: &str) {
        self.send(&["E"]);
        self.wait_text("/ #");
        self.send(&["-l", "echo handed-$((40+2)); stty size"]);
        self.send(&["Enter"]);
        self.wait_text("handed-42");
        self.wait_text("32 110");
        self.send(&["-l", "exit"]);
        self.send(&["Enter"]);
        self.wait_text(&format!("sh in {name} ended (exit 0)"));
    }

    /// A shell in the terminal pane below the list: a command, the pane's size, a
    /// full-screen program; the keys back to the list with ctrl-]; an attach as a second
    /// session, detached with ctrl-p ctrl-q; the shell's end and its status, then closed.
    fn terminal_pane(&self, name: &str) {
        self.send(&["e"]);
        self.wait_text("/ #");
        self.wait_text(&format!("1 shell in {name}"));
        self.send(&["-l", "echo pane-$((40+2)); stty size"]);
        self.send(&["Enter"]);
        let screen = self.wait_text("pane-42");
        assert!(screen.contains("┌ Containers"), "the list stays: {screen}");
        // 32 rows: header, status, 13 for the list, 17 for the pane less its border.
        self.wait_text("15 108");
        self.send(&["-l", "top"]);
        self.send(&["Enter"]);
        self.wait_text("Mem:");
        self.send(&["q"]);
        // busybox top leaves its last frame; the shell's escape sequence clears the pane.
        self.send(&["-l", "printf '\\033[H\\033[2J'; echo cleared"]);
        self.send(&["Enter"]);
        self.wait_for("the pane cleared", |s| {
            !s.contains("Mem:") && s.contains("cleared")
        });
        self.send(&["C-]"]);
        self.wait_text("types here");
        self.send(&["a"]);
        self.wait_text(&format!("2 attach {name}"));
        self.send(&["C-p", "C-q"]);
        self.wait_text(&format!("detached: attach {name}"));
        self.send(&["Enter"]);
        self.wait_text("back to the list");
        self.send(&["-l", "exit"]);
        self.send(&["Enter"]);
        self.wait_text("ended (exit 0)");
        self.wait_text("a key closes it");
        self.send(&["x"]);
        self.wait_text("┌ Logs");
    }

    /// The command line opens each pane; `:logs PROJECT` shows the merged logs of the
    /// project's two containers (`web` and `db` printing `web-says` and `db-says`), each line
    /// with its container's name; the project is grouped under its header; clicks select
    /// its rows and a pane; it is stopped and removed from its header, confirming.
    fn palette_and_project_logs(&self, project: &str) {
        for (command, title) in [
            ("im", "┌ Images "),
            ("vol", "┌ Volumes "),
            ("net", "┌ Networks "),
            ("co", "┌ Containers "),
        ] {
            self.send(&[":", "-l", command, "Enter"]);
            self.wait_text(title);
        }
        self.send(&[":", "-l", "netwrks", "Enter"]);
        self.wait_text("did you mean :networks?");
        self.send(&[":", "-l", &format!("logs {project}"), "Enter"]);
        let (web, db) = (format!("{project}-web"), format!("{project}-db"));
        self.wait_for("both services' lines", |s| {
            s.lines().any(|l| l.contains(&format!("{web} │ web-says")))
                && s.lines().any(|l| l.contains(&format!("{db}  │ db-says")))
        });
        self.send(&["Escape", "Escape"]);
        // The project's header, after the rows of no project, with its two rows under it.
        self.wait_text(&format!("▾  {project}"));
        self.wait_text("2/2 running");
        // Both rows on screen have their CPU and MEM read: "0.1%", "412K".
        let number = |t: &str| !t.is_empty() && t.parse::<f64>().is_ok();
        let read = |l: &str| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words
                .iter()
                .any(|w| w.strip_suffix('%').is_some_and(number))
                && words
                    .iter()
                    .any(|w| w.strip_suffix(['B', 'K', 'M', 'G']).is_some_and(number))
        };
        self.wait_for("CPU and MEM of both services", |s| {
            s.lines().any(|l| l.contains("CPU") && l.contains("MEM"))
                && [&web, &db]
                    .iter()
                    .all(|n| s.lines().any(|l| l.contains(n.as_str()) && read(l)))
        });
        // Clicks select a row, and a pane by its tab.
        self.click_row(&db);
        self.click_row(&web);
        let screen = self.wait_text("Images");
        let x = screen.lines().next().unwrap().find("Images").unwrap();
        self.click(screen.lines().next().unwrap()[..x].chars().count(), 0);
        self.wait_text("┌ Images ");
        self.send(&[":", "-l", "co", "Enter"]);
        self.wait_text("┌ Containers ");
        self.send(&["G", "k", "k"]);
        self.wait_text(&format!("compose project {project}: 2 of 2 running"));
        // Stopped and removed as one.
        self.send(&["s"]);
        self.wait_text("0/2 running");
        self.send(&["d"]);
        self.wait_text("Remove 2 containers");
        self.send(&["y"]);
        self.wait_for("both removed", |s| !s.contains(&web) && !s.contains(&db));
    }

    /// A left click at column `x`, row `y` (from 0), as xterm's SGR mouse reports send it.
    fn click(&self, x: usize, y: usize) {
        self.send(&["-l", &format!("\x1b[<0;{};{}M", x + 1, y + 1)]);
        self.send(&["-l", &format!("\x1b[<0;{};{}m", x + 1, y + 1)]);
    }

    /// Clicks the list's row of container `name` (on its name); the detail then shows it.
    fn click_row(&self, name: &str) {
        let screen = self.wait_text(name);
        let (y, x) = screen
            .lines()
            .enumerate()
            .find_map(|(y, l)| {
                let at = l.find(&format!(" {name} "))?;
                (l.starts_with('│') && !l.ends_with('┐')).then(|| (y, l[..at].chars().count() + 1))
            })
            .unwrap_or_else(|| panic!("no row of {name}: {screen}"));
        self.click(x, y);
        self.wait_for(&format!("{name} selected"), |s| {
            s.lines().any(|l| l.ends_with(&format!(" {name} ┐")))
        });
    }

    /// Removes the selected container `name`, confirming.
    fn remove(&self, name: &str) {
        self.send(&["d"]);
        self.wait_text(&format!("Remove container {name}?"));
        self.send(&["y"]);
        self.wait_text(&format!("removed {name}"));
    }
}

fn read_status(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .cmd(&["kill-server"])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn demo_switches_panes_filters_helps_and_quits_cleanly() {
    let t = Tmux::start("");
    t.wait_text("DEMO DATA");
    t.wait_text("debug-shell");

    t.send(&["2"]);
    t.wait_text("REPOSITORY");
    t.send(&["Tab"]);
    t.wait_text("VOLUME NAME");
    t.send(&["Tab"]);
    t.wait_text("app-net");
    t.send(&["BTab", "BTab", "BTab"]);
    t.wait_text("NAME▲");

    t.send(&["/", "w", "e", "b"]);
    let screen = t.wait_text("(1 of 9)");
    assert!(
        !screen.contains("debug-shell"),
        "the filter hides other rows:\n{screen}"
    );
    t.send(&["Enter", "Escape"]);
    t.wait_for("the filter to clear", |s| {
        !s.contains("(1 of 9)") && s.contains("debug-shell")
    });

    t.send(&["?"]);
    t.wait_text("Help: keys in force");
    t.send(&["Escape"]);
    t.wait_for("help to close", |s| !s.contains("Help: keys in force"));

    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    // The terminal is back: the alternate screen is gone.
    let screen = t.screen();
    assert!(
        !screen.contains("DEMO DATA"),
        "the TUI left its screen behind:\n{screen}"
    );
}

#[test]
fn a_key_rebound_in_the_config_works_and_shows_in_help() {
    let t = Tmux::start("[keys]\nquit = \"x\"\n");
    t.wait_text("debug-shell");
    t.send(&["?"]);
    t.wait_text("x quit dockhand");
    t.send(&["Escape"]);
    t.wait_for("help to close", |s| !s.contains("Help: keys in force"));
    // Keys are read in order: once the help that `?` opens shows, `q` has been read too.
    t.send(&["q", "?"]);
    t.wait_text("x quit dockhand");
    assert_eq!(read_status(&t.status_path()), None, "q is no longer bound");
    t.send(&["Escape"]);
    t.wait_for("help to close", |s| !s.contains("Help: keys in force"));
    t.send(&["x"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn resize_redraws_and_ctrl_c_quits() {
    let t = Tmux::start("");
    t.wait_text("debug-shell");
    let ok = t
        .cmd(&["resize-window", "-t", "e2e", "-x", "200", "-y", "50"])
        .status()
        .unwrap();
    assert!(ok.success());
    // COMMAND only fits on the wider screen.
    t.wait_text("COMMAND");
    t.send(&["C-c"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn a_shell_gets_the_terminal_and_gives_it_back() {
    let t = Tmux::start("");
    t.wait_text("debug-shell");
    // The selection starts on "api", which runs; E hands the whole screen to its shell.
    t.send(&["E"]);
    t.wait_text("/ #");
    t.send(&["hostname", "Enter"]);
    t.wait_text("13f283549866");
    t.send(&["stty size", "Enter"]);
    t.wait_text("32 110");
    t.send(&["exit 3", "Enter"]);
    t.wait_text("sh in api ended (exit 3)");
    // Keys reach the TUI again.
    t.send(&["2"]);
    t.wait_text("REPOSITORY");
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn attach_follows_output_and_ctrl_p_ctrl_q_detaches() {
    // With the whole screen handed over, as the config can ask.
    let t = Tmux::start("[ui]\nshell = \"handover\"\n");
    t.wait_text("debug-shell");
    t.send(&["a"]);
    t.wait_text("attached to api; detach with ctrl-p ctrl-q");
    t.wait_for("output from api", |s| {
        s.contains("info: ") || s.contains("warn: ")
    });
    t.send(&["C-p", "C-q"]);
    t.wait_text("detached from api");
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn a_mouse_click_selects_a_row_and_a_pane() {
    let t = Tmux::start("");
    let screen = t.wait_text("debug-shell");
    // Where "db" is drawn; the terminal reports the click as xterm's SGR sequence would.
    let y = screen
        .lines()
        .position(|l| l.starts_with("│   db "))
        .unwrap_or_else(|| panic!("{screen}"));
    t.click(6, y);
    t.wait_for("db selected", |s| s.lines().any(|l| l.ends_with(" db ┐")));
    let x = screen.lines().next().unwrap().find("Images").unwrap();
    t.click(x, 0);
    t.wait_text("REPOSITORY");
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn a_stopped_container_gets_no_shell() {
    let t = Tmux::start("");
    t.wait_text("debug-shell");
    t.send(&["G", "e"]);
    t.wait_text("cannot open a shell in worker: it is exited; start it first");
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn exec_it_from_the_command_line_follows_resizes() {
    let t = Tmux::run(&["--demo", "exec", "-it", "web", "sh"], "");
    t.wait_text("/ #");
    t.send(&["stty size", "Enter"]);
    t.wait_text("32 110");
    let ok = t
        .cmd(&["resize-window", "-t", "e2e", "-x", "90", "-y", "20"])
        .status()
        .unwrap();
    assert!(ok.success());
    // Asked again until the shell has the new size.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        t.send(&["stty size", "Enter"]);
        if t.screen().contains("20 90") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if t.screen().contains("20 90") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the shell never saw 20 90:\n{}",
            t.screen()
        );
    }
    t.send(&["exit 4", "Enter"]);
    assert_eq!(t.wait_exit(), 4);
}

/// Removes a container and an image from dockerd when dropped.
struct DockerLeftovers {
    container: String,
    image: String,
}

impl Drop for DockerLeftovers {
    fn drop(&mut self) {
        let dh = env!("CARGO_BIN_EXE_dockhand");
        let quiet = || std::process::Stdio::null();
        let _ = Command::new(dh)
            .args(["-H", "docker", "rm", "-f", &self.container])
            .stdout(quiet())
            .stderr(quiet())
            .status();
        let _ = Command::new(dh)
            .args(["-H", "docker", "rmi", "-f", &self.image])
            .stdout(quiet())
            .stderr(quiet())
            .status();
    }
}

/// Loads the busybox test image into the test dockerd as `image`.
fn load_into_dockerd(image: &str) {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("bb.tar");
    std::fs::write(&archive, common::images::busybox_archive(image)).unwrap();
    let load = Command::new(env!("CARGO_BIN_EXE_dockhand"))
        .args(["-H", "docker", "load", "-i", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        load.status.success(),
        "load: {}",
        String::from_utf8_lossy(&load.stderr)
    );
}

#[test]
fn on_dockerd_run_from_the_dialog_read_logs_exec_and_remove() {
    let image = format!("{}:latest", common::unique("e2e-bb"));
    let name = common::unique("e2e-run");
    let _left = DockerLeftovers {
        container: name.clone(),
        image: image.clone(),
    };
    load_into_dockerd(&image);

    let t = Tmux::run(&["-H", "docker"], "");
    t.wait_text("unix:///var/run/docker.sock");
    t.run_from_dialog(&image, &name, "sleep 1");
    t.shell_and_back(&name);
    t.terminal_pane(&name);
    t.remove(&name);
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    let gone = Command::new(env!("CARGO_BIN_EXE_dockhand"))
        .args([
            "-H",
            "docker",
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("name={name}"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&gone.stdout), "");
}

#[test]
fn on_the_engine_run_from_the_dialog_read_logs_shell_attach_and_remove() {
    let engine = common::engine::Engine::new();
    let image = format!("{}:latest", common::unique("e2e-bb"));
    let archive = engine.write("bb.tar", &common::images::busybox_archive(&image));
    engine.ok(&["load", "-i", archive.to_str().unwrap()]);
    let name = common::unique("e2e-eng");
    let root = engine.root();

    // No -H: the TUI opens on the embedded engine.
    let t = Tmux::run(&["--root", root.to_str().unwrap()], "");
    t.wait_text(&format!("engine {}", root.display()));
    t.run_from_dialog(&image, &name, "echo tick; sleep 1");
    // A shell handed the whole terminal, at the terminal's size, gives it back.
    t.shell_and_back(&name);
    t.terminal_pane(&name);

    // Attach in the pane follows the output; ctrl-p ctrl-q leaves it running.
    t.send(&["a"]);
    t.wait_text(&format!("1 attach {name}"));
    // The container has no TTY: its lines start at the pane's left edge all the same.
    t.wait_for("a tick in the pane", |s| {
        s.lines()
            .skip_while(|l| !l.contains("1 attach"))
            .any(|l| l.starts_with("│tick"))
    });
    t.send(&["C-p", "C-q"]);
    t.wait_text(&format!("detached: attach {name}"));
    assert_eq!(engine.status(&name), "running");

    t.remove(&name);
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    assert_eq!(engine.ok(&["ps", "-a", "-q"]), "");
}

/// Two containers of one compose project (`PROJECT-web`, `PROJECT-db`), made with the CLI
/// on either backend.
fn compose_project(args: &[&str], image: &str, project: &str) {
    for service in ["web", "db"] {
        let label = format!("com.docker.compose.project={project}");
        let service_label = format!("com.docker.compose.service={service}");
        let name = format!("{project}-{service}");
        // Leaves at once when stopped, as a compose service would.
        let each = format!(
            "trap 'exit 0' TERM; while true; do echo {service}-says-$((i=i+1)); sleep 0.2; done"
        );
        let mut full = args.to_vec();
        full.extend([
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "none",
            "--label",
            &label,
            "--label",
            &service_label,
            image,
            "sh",
            "-c",
            &each,
        ]);
        let out = Command::new(env!("CARGO_BIN_EXE_dockhand"))
            .args(&full)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "run {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn on_the_engine_the_command_line_opens_panes_and_a_projects_merged_logs() {
    let engine = common::engine::Engine::new();
    let image = format!("{}:latest", common::unique("e2e-bb"));
    let archive = engine.write("bb.tar", &common::images::busybox_archive(&image));
    engine.ok(&["load", "-i", archive.to_str().unwrap()]);
    let root = engine.root();
    // Short, so names fit their column, and the test's own.
    let project = format!("e{}", std::process::id() % 100_000);
    compose_project(&["--root", root.to_str().unwrap()], &image, &project);
    let t = Tmux::run(&["--root", root.to_str().unwrap()], "");
    t.wait_text(&format!("engine {}", root.display()));
    t.palette_and_project_logs(&project);
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    assert_eq!(engine.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn on_dockerd_the_command_line_opens_panes_and_a_projects_merged_logs() {
    let image = format!("{}:latest", common::unique("e2e-bb"));
    // Short, so names fit their column, and the test's own on the shared daemon.
    let project = format!("d{}", std::process::id() % 100_000);
    let _web = DockerLeftovers {
        container: format!("{project}-web"),
        image: image.clone(),
    };
    let _db = DockerLeftovers {
        container: format!("{project}-db"),
        image: image.clone(),
    };
    load_into_dockerd(&image);
    compose_project(&["-H", "docker"], &image, &project);
    let t = Tmux::run(&["-H", "docker"], "");
    t.wait_text("unix:///var/run/docker.sock");
    t.palette_and_project_logs(&project);
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn on_the_engine_a_port_and_a_volume_from_the_dialog_show_in_their_panes() {
    let engine = common::engine::Engine::new();
    let image = format!("{}:latest", common::unique("e2e-bb"));
    let archive = engine.write("bb.tar", &common::images::busybox_archive(&image));
    engine.ok(&["load", "-i", archive.to_str().unwrap()]);
    let name = common::unique("e2e-web");
    let volume = common::unique("e2e-data");
    let root = engine.root();
    let t = Tmux::run(&["--root", root.to_str().unwrap()], "");
    t.wait_text(&format!("engine {}", root.display()));
    // The run dialog: image, name, command, then a published port and a named volume.
    t.send(&["c"]);
    t.wait_text("Run a container");
    t.send(&["-l", &image]);
    t.send(&["Tab", "-l", &name, "Tab"]);
    t.send(&["-l", "sh -c 'echo ready-marker; sleep 600'", "Tab"]);
    t.send(&["-l", "127.0.0.1::80", "Tab"]);
    t.send(&["-l", &format!("{volume}:/data"), "Enter"]);
    t.wait_text(&format!("started {name}"));
    t.send(&["/"]);
    t.send(&["-l", &name]);
    t.send(&["Enter"]);
    t.wait_text("ready-marker");
    // The Ports tab shows the mapping the engine made.
    let host_port = engine.ok(&["port", &name, "80"]);
    let host_port = host_port.trim().rsplit(':').next().unwrap().to_string();
    t.send(&["]", "]", "]", "]"]);
    t.wait_text("CONTAINER PORT");
    t.wait_text(&host_port);
    // The volume it made, and the default network it is on, in their panes.
    t.send(&["Escape", "3"]);
    t.wait_text(&volume);
    t.send(&["4"]);
    t.wait_text("bridge");
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    engine.ok(&["rm", "-f", &name]);
}

#[test]
fn on_an_empty_engine_the_tui_says_what_to_do() {
    let engine = common::engine::Engine::new();
    let root = engine.root();
    let t = Tmux::run(&["--root", root.to_str().unwrap()], "");
    t.wait_text(&format!("Nothing here yet on engine {}", root.display()));
    t.wait_text("dockhand load -i FILE.tar");
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn endpoint_switches_from_the_engine_to_dockerd_and_back() {
    let engine = common::engine::Engine::new();
    let image = format!("{}:latest", common::unique("e2e-bb"));
    let archive = engine.write("bb.tar", &common::images::busybox_archive(&image));
    engine.ok(&["load", "-i", archive.to_str().unwrap()]);
    let on_engine = common::unique("e2e-here");
    engine.ok(&[
        "create",
        "--name",
        &on_engine,
        "--network",
        "none",
        &image,
        "true",
    ]);
    let on_docker = common::unique("e2e-there");
    let _left = DockerLeftovers {
        container: on_docker.clone(),
        image: image.clone(),
    };
    load_into_dockerd(&image);
    let out = Command::new(env!("CARGO_BIN_EXE_dockhand"))
        .args([
            "-H", "docker", "create", "--name", &on_docker, &image, "true",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let root = engine.root();
    let t = Tmux::run(&["--root", root.to_str().unwrap()], "");
    let engine_label = format!("engine {}", root.display());
    t.wait_text(&engine_label);
    t.wait_text(&on_engine);
    t.send(&[":", "-l", "endpoint docker", "Enter"]);
    t.wait_text("switched to unix:///var/run/docker.sock");
    t.send(&[":", "-l", &format!("filter {on_docker}"), "Enter"]);
    t.wait_for("dockerd's container alone", |s| {
        s.contains(&on_docker) && !s.contains(&on_engine)
    });
    // A name that is no endpoint: said so, and the UI stays where it was.
    t.send(&[":", "-l", "endpoint nowhere", "Enter"]);
    let screen = t.wait_text("cannot switch to nowhere");
    assert!(screen.contains(&on_docker), "{screen}");
    t.send(&[":", "-l", "endpoint engine", "Enter"]);
    t.wait_text(&format!("switched to {engine_label}"));
    t.wait_for("the engine's container alone", |s| {
        s.contains(&on_engine) && !s.contains(&on_docker)
    });
    t.send(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    engine.ok(&["rm", &on_engine]);
}
