//! A small HTTP/1.1 file server on loopback for the tests (ADD from URLs): files by path, set
//! and changed while it runs, each with a fixed Last-Modified; 404 for anything else. It
//! stops when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The Last-Modified every file is served with, and its Unix time.
pub const MODIFIED: (&str, i64) = ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777);

/// A running server.
pub struct Server {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// A server with no files yet.
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (f, s) = (files.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(conn) = conn {
                    let _ = answer(conn, &f);
                }
            }
        });
        Server { addr, files, stop }
    }

    /// Serves `body` at `path` (e.g. `/files/tool.txt`).
    pub fn put(&self, path: &str, body: &[u8]) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_string(), body.to_vec());
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn answer(conn: TcpStream, files: &Mutex<HashMap<String, Vec<u8>>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers end with an empty line.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let body = files.lock().unwrap().get(&path).cloned();
    let mut conn = conn;
    match body {
        Some(b) => {
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: {}\r\nConnection: close\r\n\r\n",
                b.len(),
                MODIFIED.0
            )?;
            conn.write_all(&b)?;
        }
        None => write!(
            conn,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?,
    }
    conn.flush()
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
}
