//! A small shell for the demo backend's exec and attach sessions: a prompt, echo of typed
//! input on a TTY, and a handful of commands answered from the demo world (echo, hostname,
//! ps, env, ls, cat, stty size, exit, …). Unknown commands fail with 127 as in a real shell.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, DuplexStream};
use tokio::sync::mpsc;

use crate::model::{LogStream, OutputChunk, TopOutput};

/// What a command can see of its container.
#[derive(Debug, Clone)]
pub struct Context {
    /// Files, for `cat` and `ls`.
    pub files: super::files::Files,
    /// Host name.
    pub hostname: String,
    /// Environment as `KEY=value`.
    pub env: Vec<String>,
    /// Process table (for `ps`).
    pub top: TopOutput,
    /// Terminal size, updated by resize (cols, rows).
    pub size: Arc<Mutex<(u16, u16)>>,
}

/// The result of one command.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub code: i64,
    /// The shell should end (`exit`).
    pub exit: bool,
}

fn ok(stdout: String) -> Outcome {
    Outcome {
        stdout,
        ..Outcome::default()
    }
}

/// Runs one command given as words; `interactive` changes how a missing command is reported.
pub fn run(ctx: &Context, argv: &[String], interactive: bool) -> Outcome {
    let Some(cmd) = argv.first() else {
        return Outcome::default();
    };
    let args = &argv[1..];
    let name = cmd.rsplit('/').next().unwrap_or(cmd);
    match name {
        "echo" => ok(format!("{}\n", args.join(" "))),
        "true" | ":" | "sleep" => Outcome::default(),
        "false" => Outcome {
            code: 1,
            ..Outcome::default()
        },
        "hostname" => ok(format!("{}\n", ctx.hostname)),
        "pwd" => ok("/\n".into()),
        "whoami" => ok("root\n".into()),
        "id" => ok("uid=0(root) gid=0(root) groups=0(root)\n".into()),
        "uname" => ok(if args.first().map(String::as_str) == Some("-a") {
            format!("Linux {} 6.1.0 #1 SMP x86_64 GNU/Linux\n", ctx.hostname)
        } else {
            "Linux\n".into()
        }),
        "env" | "printenv" => ok(ctx.env.iter().map(|e| format!("{e}\n")).collect()),
        "ls" => {
            let dir = args.first().map(String::as_str).unwrap_or("/");
            let prefix = format!("{}/", dir.trim_end_matches('/'));
            let mut names: Vec<&str> = ctx
                .files
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .map(|rest| rest.split('/').next().unwrap_or(rest))
                .collect();
            names.dedup();
            ok(names.iter().map(|n| format!("{n}\n")).collect())
        }
        "cat" => match args.first() {
            Some(path) => match ctx.files.get(path.as_str()) {
                Some(data) => ok(String::from_utf8_lossy(data).into_owned()),
                None => Outcome {
                    stderr: format!("cat: can't open '{path}': No such file or directory\n"),
                    code: 1,
                    ..Outcome::default()
                },
            },
            None => Outcome::default(),
        },
        "ps" => {
            let mut s = String::from("PID   USER     COMMAND\n");
            for p in &ctx.top.processes {
                let pid = p.get(1).cloned().unwrap_or_default();
                let user = p.first().cloned().unwrap_or_default();
                let cmd = p.last().cloned().unwrap_or_default();
                s.push_str(&format!("{pid:<5} {user:<8} {cmd}\n"));
            }
            ok(s)
        }
        "stty" if args.first().map(String::as_str) == Some("size") => {
            let (cols, rows) = *ctx.size.lock().unwrap_or_else(|p| p.into_inner());
            ok(format!("{rows} {cols}\n"))
        }
        "exit" => Outcome {
            code: args.first().and_then(|a| a.parse().ok()).unwrap_or(0),
            exit: true,
            ..Outcome::default()
        },
        "sh" | "bash" | "ash" if args.first().map(String::as_str) == Some("-c") => run_line(
            ctx,
            args.get(1).map(String::as_str).unwrap_or(""),
            interactive,
        ),
        _ if interactive => Outcome {
            stderr: format!("sh: {cmd}: not found\n"),
            code: 127,
            ..Outcome::default()
        },
        _ => Outcome {
            stderr: format!("exec: \"{cmd}\": executable file not found in $PATH\n"),
            code: 127,
            ..Outcome::default()
        },
    }
}

/// Runs a command line (commands separated by `;`), stopping at `exit`.
pub fn run_line(ctx: &Context, line: &str, interactive: bool) -> Outcome {
    let mut total = Outcome::default();
    for part in line.split(';') {
        let Ok(words) = crate::util::words::split(part) else {
            return Outcome {
                stderr: "sh: syntax error: unterminated quoted string\n".into(),
                code: 2,
                ..total
            };
        };
        let o = run(ctx, &words, interactive);
        total.stdout.push_str(&o.stdout);
        total.stderr.push_str(&o.stderr);
        total.code = o.code;
        if o.exit {
            total.exit = true;
            break;
        }
    }
    total
}

/// Sends bytes as one output chunk; false when nobody listens any more.
fn send(tx: &mpsc::Sender<OutputChunk>, stream: LogStream, text: &str, tty: bool) -> bool {
    if text.is_empty() {
        return true;
    }
    let text = if tty {
        text.replace('\n', "\r\n")
    } else {
        text.to_string()
    };
    tx.try_send(OutputChunk {
        stream,
        data: Bytes::from(text),
    })
    .is_ok()
}

/// Serves an interactive shell on `input` until `exit`, end of input, or detach (ctrl-p
/// ctrl-q when `detachable`). Returns the exit status, `None` when detached.
pub async fn serve(
    ctx: Context,
    mut input: DuplexStream,
    tx: mpsc::Sender<OutputChunk>,
    tty: bool,
    detachable: bool,
) -> Option<i64> {
    let prompt = "/ # ";
    if tty && !send(&tx, LogStream::Stdout, prompt, tty) {
        return Some(0);
    }
    let mut line = String::new();
    let mut last = 0u8;
    let mut buf = [0u8; 1024];
    loop {
        let n = match input.read(&mut buf).await {
            Ok(0) | Err(_) => return Some(0),
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if detachable && last == 0x10 && b == 0x11 {
                return None;
            }
            last = b;
            match b {
                b'\r' | b'\n' => {
                    if tty {
                        send(&tx, LogStream::Stdout, "\n", tty);
                    }
                    let o = run_line(&ctx, &line, true);
                    line.clear();
                    send(&tx, LogStream::Stdout, &o.stdout, tty);
                    send(
                        &tx,
                        if tty {
                            LogStream::Stdout
                        } else {
                            LogStream::Stderr
                        },
                        &o.stderr,
                        tty,
                    );
                    if o.exit {
                        return Some(o.code);
                    }
                    if tty {
                        send(&tx, LogStream::Stdout, prompt, tty);
                    }
                }
                0x03 => {
                    line.clear();
                    if tty {
                        send(&tx, LogStream::Stdout, &format!("^C\n{prompt}"), tty);
                    }
                }
                0x04 if line.is_empty() => return Some(0),
                0x7f | 0x08 => {
                    if line.pop().is_some() && tty {
                        send(&tx, LogStream::Stdout, "\x08 \x08", tty);
                    }
                }
                0x10 => {}
                _ => {
                    let c = b as char;
                    line.push(c);
                    if tty {
                        send(&tx, LogStream::Stdout, &c.to_string(), tty);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            files: crate::backend::fake::files::initial("web"),
            hostname: "web".into(),
            env: vec!["A=1".into()],
            top: TopOutput::default(),
            size: Arc::new(Mutex::new((80, 24))),
        }
    }

    #[test]
    fn commands_answer_like_a_shell() {
        assert_eq!(
            run_line(&ctx(), "echo 'hello world'; hostname", false).stdout,
            "hello world\nweb\n"
        );
        let o = run_line(&ctx(), "nosuch --flag", false);
        assert_eq!(o.code, 127);
        assert!(o.stderr.contains("executable file not found"), "{o:?}");
        assert_eq!(run_line(&ctx(), "sh -c 'exit 3'", false).code, 3);
        assert_eq!(run_line(&ctx(), "stty size", false).stdout, "24 80\n");
    }

    #[tokio::test]
    async fn the_interactive_shell_reads_lines_until_exit() {
        let (mut client, server) = tokio::io::duplex(1024);
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(serve(ctx(), server, tx, false, false));
        tokio::io::AsyncWriteExt::write_all(&mut client, b"echo hi\nexit 5\n")
            .await
            .unwrap();
        assert_eq!(task.await.unwrap(), Some(5));
        let mut out = String::new();
        while let Ok(chunk) = rx.try_recv() {
            out.push_str(&String::from_utf8_lossy(&chunk.data));
        }
        assert_eq!(out, "hi\n");
    }
}
