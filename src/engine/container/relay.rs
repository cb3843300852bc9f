//! The monitor's relay: it serves the attach socket and, while the container's process runs,
//! copies its output (two pipes, or its terminal) to the log and to every attached client,
//! and the clients' input to the container (its stdin pipe, or its terminal). One poll loop,
//! no threads: the monitor stays single-threaded. A slow client never holds the container
//! up: past [`CLIENT_BUFFER`] of unsent output it is dropped.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::attach::{
    self, CONTROL, Decoder, EXIT, HELLO, RESIZE, STDERR, STDIN, STDIN_EOF, STDOUT, WANTS_STDIN,
};
use super::logs::LogWriter;

/// Unsent output a client may hold before it is dropped.
pub const CLIENT_BUFFER: usize = 4 << 20;
/// Input waiting for the container past which clients are not read (back-pressure).
const INPUT_BUFFER: usize = 256 << 10;

/// How long a process runs before [`Relay::run`] counts it as settled.
pub const SETTLED_AFTER: Duration = Duration::from_millis(50);

/// The container's side of one run.
#[derive(Debug)]
pub struct Streams {
    /// stdout and stderr; with a TTY only the first, the terminal's master.
    outputs: [Option<File>; 2],
    /// Where input goes: the stdin pipe, or the terminal's master.
    input: Option<File>,
    /// The terminal's master, for resizing.
    master: Option<File>,
}

impl Streams {
    /// Output on two pipes, input (when kept open) on a third.
    pub fn pipes(out: OwnedFd, err: OwnedFd, stdin: Option<OwnedFd>) -> std::io::Result<Streams> {
        let files = [File::from(out), File::from(err)];
        for f in &files {
            set_nonblocking(f)?;
        }
        let input = stdin.map(File::from);
        if let Some(i) = &input {
            set_nonblocking(i)?;
        }
        let [out, err] = files;
        Ok(Streams {
            outputs: [Some(out), Some(err)],
            input,
            master: None,
        })
    }

    /// Output and input on the master of the container's terminal.
    pub fn terminal(master: OwnedFd) -> std::io::Result<Streams> {
        let master = File::from(master);
        set_nonblocking(&master)?;
        Ok(Streams {
            outputs: [Some(master.try_clone()?), None],
            input: Some(master.try_clone()?),
            master: Some(master),
        })
    }
}

fn set_nonblocking(f: &impl AsFd) -> std::io::Result<()> {
    rustix::io::ioctl_fionbio(f, true).map_err(std::io::Error::from)
}

/// One attached client.
#[derive(Debug)]
struct Client {
    stream: UnixStream,
    decoder: Decoder,
    /// Output not yet sent.
    unsent: Vec<u8>,
    /// Its HELLO flags, once it said HELLO.
    flags: Option<u8>,
    gone: bool,
}

impl Client {
    fn wants_output(&self) -> bool {
        self.flags.is_some_and(|f| f & CONTROL == 0) && !self.gone
    }

    fn flush(&mut self) {
        while !self.unsent.is_empty() && !self.gone {
            match self.stream.write(&self.unsent) {
                Ok(0) => self.gone = true,
                Ok(n) => {
                    self.unsent.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => self.gone = true,
            }
        }
    }
}

/// What a poll slot stands for.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Output(usize),
    Input,
    Listener,
    Client(usize),
    Exit,
    Service(usize),
}

/// Something else the monitor serves from the same poll loop while the container runs (its
/// DNS server), so the monitor stays one thread.
pub trait Service {
    /// The sources to wait on.
    fn sources(&self) -> Vec<BorrowedFd<'_>>;
    /// Source `i` of [`Service::sources`] is ready to read.
    fn ready(&mut self, i: usize);
}

/// The attach socket of one container and its clients, for the monitor's whole life.
#[derive(Debug)]
pub struct Relay {
    path: PathBuf,
    listener: Option<UnixListener>,
    clients: Vec<Client>,
    /// The last size a client gave, applied to each new terminal.
    size: Option<(u16, u16)>,
    size_changed: bool,
    /// Input received and not yet written to the container.
    input: Vec<u8>,
    /// A client that started the container ended its input (stdin-once).
    input_ended: bool,
    stdin_once: bool,
}

impl Relay {
    /// Binds the attach socket of container `id`. Without it (the error is returned and the
    /// relay still copies output to the log) nobody can attach.
    pub fn bind(id: &str, stdin_once: bool) -> (Relay, Option<std::io::Error>) {
        let path = attach::socket_path(id);
        let mut relay = Relay {
            path: path.clone(),
            listener: None,
            clients: Vec::new(),
            size: None,
            size_changed: false,
            input: Vec::new(),
            input_ended: false,
            stdin_once,
        };
        let bound = (|| {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            attach::console_listener(&path)
        })();
        match bound {
            Ok(l) => {
                relay.listener = Some(l);
                (relay, None)
            }
            Err(e) => (relay, Some(e)),
        }
    }

    /// Before the first start: waits up to `timeout` for a client to say HELLO, so that the
    /// one who asked to attach sees the very first output.
    pub fn wait_for_client(&mut self, timeout: Duration, mut give_up: impl FnMut() -> bool) {
        let until = Instant::now() + timeout;
        while !self.clients.iter().any(|c| c.flags.is_some())
            && Instant::now() < until
            && !give_up()
        {
            let left = until.saturating_duration_since(Instant::now());
            let mut streams = Streams {
                outputs: [None, None],
                input: None,
                master: None,
            };
            self.poll_once(
                &mut streams,
                None,
                None,
                Some(left.min(Duration::from_millis(100))),
            );
        }
    }

    /// Relays until process `pid` (our child) has exited and its output is drained; returns
    /// how it ended (a shell's status: 128 + signal when killed). The log gets every byte.
    /// Clients stay connected until [`Relay::let_clients_go`]. `settled` is called once the
    /// process has run for [`SETTLED_AFTER`], so that a short run does not wait for it.
    /// `service` is served from the same loop.
    pub fn run(
        &mut self,
        mut streams: Streams,
        pid: i32,
        log: &mut Option<LogWriter>,
        settled: impl FnOnce(),
        mut service: Option<&mut (dyn Service + '_)>,
    ) -> i64 {
        let started = Instant::now();
        let mut settled = Some(settled);
        self.size_changed = self.size.is_some();
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(pid).expect("a child's pid is positive"),
            rustix::process::PidfdFlags::empty(),
        )
        .ok();
        let mut code = None;
        loop {
            self.apply_size(&streams);
            if code.is_none() {
                code = reap(pid);
            } else {
                let _ = reap(pid);
            }
            if code.is_some() && streams.outputs.iter().all(Option::is_none) {
                break;
            }
            // With a pidfd the process's end wakes the poll, as do its output, a client and
            // a query: an idle container costs its monitor no wake-ups at all. Without one
            // (an old kernel) its end is looked for once a second.
            let mut timeout = match (&code, &pidfd) {
                (None, Some(_)) => None,
                (None, None) => Some(Duration::from_secs(1)),
                _ => Some(Duration::from_millis(20)),
            };
            if settled.is_some() && code.is_none() {
                let left = SETTLED_AFTER.saturating_sub(started.elapsed());
                if left.is_zero() {
                    if let Some(f) = settled.take() {
                        f();
                    }
                } else {
                    timeout = Some(timeout.map_or(left, |t| t.min(left)));
                }
            }
            let output = self.poll_once(
                &mut streams,
                if code.is_none() { pidfd.as_ref() } else { None },
                service.as_deref_mut(),
                timeout,
            );
            if let Some(l) = log.as_mut() {
                for (stream, data) in output {
                    let _ = l.write(stream, &data);
                }
            }
        }
        if let Some(l) = log.as_mut() {
            let _ = l.flush_partial();
        }
        self.input.clear();
        self.input_ended = false;
        code.unwrap_or(255)
    }

    /// Stops taking clients (the container will not run again under this monitor), so that
    /// one who attaches for the next start waits for the next monitor.
    pub fn stop_listening(&mut self) {
        if self.listener.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// After a run: sends clients what they still lack and the run's exit status, then closes
    /// their connections, which ends their sessions.
    pub fn let_clients_go(&mut self, code: i64) {
        for c in &mut self.clients {
            if c.wants_output() {
                c.unsent
                    .extend_from_slice(&attach::frame(EXIT, &code.to_be_bytes()));
            }
            let _ = c.stream.set_nonblocking(false);
            let _ = c.stream.set_write_timeout(Some(Duration::from_secs(1)));
            if !c.gone {
                let _ = c.stream.write_all(&c.unsent);
            }
        }
        self.clients.clear();
    }

    fn apply_size(&mut self, streams: &Streams) {
        if !self.size_changed {
            return;
        }
        if let (Some(master), Some((cols, rows))) = (&streams.master, self.size) {
            let _ = attach::set_window_size(master.as_fd(), cols, rows);
            self.size_changed = false;
        }
    }

    /// One poll over every source; returns the output read, per stream.
    fn poll_once<'s>(
        &mut self,
        streams: &mut Streams,
        pidfd: Option<&OwnedFd>,
        mut service: Option<&mut (dyn Service + 's)>,
        timeout: Option<Duration>,
    ) -> Vec<(usize, Vec<u8>)> {
        let mut slots = Vec::new();
        let mut fds = Vec::new();
        for (i, o) in streams.outputs.iter().enumerate() {
            if let Some(f) = o {
                fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                slots.push(Slot::Output(i));
            }
        }
        if let Some(i) = &streams.input {
            if !self.input.is_empty() {
                fds.push(PollFd::new(i.as_fd(), PollFlags::POLLOUT));
                slots.push(Slot::Input);
            }
        }
        if let Some(l) = &self.listener {
            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
            slots.push(Slot::Listener);
        }
        let reading = self.input.len() < INPUT_BUFFER;
        for (i, c) in self.clients.iter().enumerate() {
            let mut flags = PollFlags::empty();
            if reading {
                flags |= PollFlags::POLLIN;
            }
            if !c.unsent.is_empty() {
                flags |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(c.stream.as_fd(), flags));
            slots.push(Slot::Client(i));
        }
        if let Some(p) = pidfd {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            slots.push(Slot::Exit);
        }
        let service_sources = service.as_ref().map(|s| s.sources()).unwrap_or_default();
        for (i, fd) in service_sources.iter().enumerate() {
            fds.push(PollFd::new(*fd, PollFlags::POLLIN));
            slots.push(Slot::Service(i));
        }
        let timeout = timeout.map_or(PollTimeout::NONE, |t| {
            PollTimeout::from(u16::try_from(t.as_millis()).unwrap_or(u16::MAX))
        });
        let _ = nix::poll::poll(&mut fds, timeout);
        let ready: Vec<(Slot, PollFlags)> = slots
            .into_iter()
            .zip(
                fds.iter()
                    .map(|f| f.revents().unwrap_or(PollFlags::empty())),
            )
            .filter(|(_, r)| !r.is_empty())
            .collect();
        drop(fds);
        drop(service_sources);
        let mut output = Vec::new();
        for (slot, revents) in ready {
            match slot {
                Slot::Output(i) => {
                    if let Some(data) = read_output(&mut streams.outputs[i]) {
                        self.broadcast(if i == 0 { STDOUT } else { STDERR }, &data);
                        output.push((i, data));
                    }
                }
                Slot::Input => self.write_input(streams),
                Slot::Listener => self.accept(),
                Slot::Client(i) => {
                    if revents.intersects(PollFlags::POLLOUT) {
                        self.clients[i].flush();
                    }
                    if revents
                        .intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
                    {
                        self.read_client(i);
                    }
                }
                Slot::Exit => {}
                Slot::Service(i) => {
                    if let Some(s) = service.as_deref_mut() {
                        s.ready(i);
                    }
                }
            }
        }
        if !self.input.is_empty() && streams.input.is_some() {
            self.write_input(streams);
        }
        if self.input_ended && self.input.is_empty() && streams.master.is_none() {
            // Stdin-once: the container's stdin pipe closes, so it reads end of file.
            streams.input = None;
        }
        self.clients.retain(|c| !c.gone);
        output
    }

    fn accept(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        while let Ok((stream, _)) = listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                self.clients.push(Client {
                    stream,
                    decoder: Decoder::default(),
                    unsent: Vec::new(),
                    flags: None,
                    gone: false,
                });
            }
        }
    }

    fn read_client(&mut self, i: usize) {
        let mut buf = [0u8; 16 << 10];
        let c = &mut self.clients[i];
        match attach::read_available(&mut c.stream, &mut buf) {
            Ok(Some(0)) | Err(_) => c.gone = true,
            Ok(Some(n)) => c.decoder.push(&buf[..n]),
            Ok(None) => {}
        }
        loop {
            let frame = match self.clients[i].decoder.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => {
                    self.clients[i].gone = true;
                    break;
                }
            };
            let c = &mut self.clients[i];
            let wants_stdin = c.flags.is_some_and(|f| f & WANTS_STDIN != 0);
            match frame {
                (HELLO, flags) => c.flags = Some(flags.first().copied().unwrap_or(0)),
                (STDIN, data) if wants_stdin => self.input.extend_from_slice(&data),
                (STDIN_EOF, _) if wants_stdin && self.stdin_once => self.input_ended = true,
                (RESIZE, payload) => {
                    if let Some(size) = attach::parse_resize(&payload) {
                        self.size = Some(size);
                        self.size_changed = true;
                    }
                }
                _ => {}
            }
        }
    }

    fn write_input(&mut self, streams: &mut Streams) {
        let Some(sink) = streams.input.as_mut() else {
            return;
        };
        while !self.input.is_empty() {
            match sink.write(&self.input) {
                Ok(0) => break,
                Ok(n) => {
                    self.input.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // The container closed its input: what is left has nowhere to go.
                    self.input.clear();
                    streams.input = None;
                    break;
                }
            }
        }
    }

    fn broadcast(&mut self, kind: u8, data: &[u8]) {
        let frame = attach::frame(kind, data);
        for c in self.clients.iter_mut().filter(|c| c.wants_output()) {
            if c.unsent.len() + frame.len() > CLIENT_BUFFER {
                c.gone = true;
                continue;
            }
            c.unsent.extend_from_slice(&frame);
            c.flush();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if self.listener.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads what one output has; closes it at its end (a terminal's master reads EIO once the
/// last process holding the terminal is gone).
fn read_output(slot: &mut Option<File>) -> Option<Vec<u8>> {
    let file = slot.as_mut()?;
    let mut buf = vec![0u8; 64 << 10];
    match attach::read_available(file, &mut buf) {
        Ok(Some(0)) | Err(_) => {
            *slot = None;
            None
        }
        Ok(Some(n)) => {
            buf.truncate(n);
            Some(buf)
        }
        Ok(None) => None,
    }
}

/// Reaps every child that ended (the monitor is their subreaper); the status of `pid` when
/// it was one of them.
fn reap(pid: i32) -> Option<i64> {
    let mut code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if p.as_raw() == pid => code = Some(i64::from(c)),
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => {
                code = Some(128 + sig as i64)
            }
            Ok(WaitStatus::StillAlive) => break,
            Err(nix::errno::Errno::ECHILD) => {
                // Nothing left to wait for: our process is gone without a word.
                return Some(code.unwrap_or(255));
            }
            Err(_) => break,
            Ok(_) => {}
        }
    }
    code
}
