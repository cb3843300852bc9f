//! Terminal sessions in a pane: each exec or attach session's screen, kept by a vt100 parser
//! fed with the session's output (colours, cursor, full-screen programs, scrollback), the
//! tabs of the sessions open at once, which one is in front, whether the keyboard is the
//! terminal's, and keys turned into the bytes a terminal sends. The sessions' I/O is
//! `terminal_io.rs`'s; drawing is `draw/terminal.rs`'s.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Lines of scrollback kept per session.
const SCROLLBACK: usize = 5_000;

/// One session shown in the pane.
pub struct TermSession {
    /// Its number, unique in this run.
    pub id: u32,
    /// The container's id.
    pub container: String,
    /// What the tab says: `sh in web`, `attach web`.
    pub title: String,
    /// An attach session (ctrl-p ctrl-q detaches).
    pub attach: bool,
    parser: vt100::Parser,
    /// How it ended, once it has.
    pub ended: Option<String>,
    /// A ctrl-p held back until the next key says whether it detaches.
    held_ctrl_p: bool,
}

impl std::fmt::Debug for TermSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TermSession")
            .field("id", &self.id)
            .field("title", &self.title)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl TermSession {
    /// The screen as it stands (scrolled back when the user scrolled).
    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The screen's text, without colours, for tests and messages.
    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    /// Lines scrolled back.
    pub fn scrolled(&self) -> usize {
        self.parser.screen().scrollback()
    }
}

/// What a key in a focused terminal does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Bytes for the program.
    Send(Vec<u8>),
    /// Detach from an attach session (ctrl-p ctrl-q).
    Detach,
    /// Close the session, which has ended.
    Close,
    /// Nothing to send (scrolling, a held ctrl-p).
    Nothing,
}

/// The sessions of the pane.
#[derive(Debug, Default)]
pub struct Terminals {
    sessions: Vec<TermSession>,
    active: usize,
    next: u32,
    /// The pane is in front of the detail tabs.
    pub shown: bool,
    /// Keys go to the session in front.
    pub focused: bool,
    /// The size sessions are drawn at (rows, cols).
    size: (u16, u16),
}

impl Terminals {
    /// Opens a session tab at the front and gives it the keyboard; returns its number.
    pub fn open(&mut self, container: &str, title: String, attach: bool) -> u32 {
        self.next += 1;
        let (rows, cols) = self.size_or_default();
        self.sessions.push(TermSession {
            id: self.next,
            container: container.to_string(),
            title,
            attach,
            parser: vt100::Parser::new(rows, cols, SCROLLBACK),
            ended: None,
            held_ctrl_p: false,
        });
        self.active = self.sessions.len() - 1;
        self.shown = true;
        self.focused = true;
        self.next
    }

    fn size_or_default(&self) -> (u16, u16) {
        match self.size {
            (0, _) | (_, 0) => (24, 80),
            s => s,
        }
    }

    /// The sessions, in tab order.
    pub fn sessions(&self) -> &[TermSession] {
        &self.sessions
    }

    /// The index of the session in front.
    pub fn active_index(&self) -> usize {
        self.active
    }

    /// The session in front.
    pub fn active(&self) -> Option<&TermSession> {
        self.sessions.get(self.active)
    }

    /// Whether a session is open.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut TermSession> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }

    /// Feeds a session's output to its screen; false when the session is gone.
    pub fn output(&mut self, id: u32, bytes: &[u8]) -> bool {
        match self.get_mut(id) {
            Some(s) => {
                s.parser.process(bytes);
                true
            }
            None => false,
        }
    }

    /// Records how a session ended; its tab stays until closed, saying so.
    pub fn ended(&mut self, id: u32, how: String) -> bool {
        match self.get_mut(id) {
            Some(s) => {
                s.ended = Some(how);
                true
            }
            None => false,
        }
    }

    /// Closes session `id`; the next one (or the previous) comes to the front. The pane hides
    /// and gives the keyboard back when none is left.
    pub fn close(&mut self, id: u32) {
        self.sessions.retain(|s| s.id != id);
        self.active = self.active.min(self.sessions.len().saturating_sub(1));
        if self.sessions.is_empty() {
            self.shown = false;
            self.focused = false;
        }
    }

    /// Brings the next (or previous) session to the front.
    pub fn step(&mut self, delta: isize) {
        let n = self.sessions.len() as isize;
        if n > 0 {
            self.active = (self.active as isize + delta).rem_euclid(n) as usize;
        }
    }

    /// Scrolls the session in front back (`lines` > 0) or forward through its scrollback.
    pub fn scroll(&mut self, lines: isize) {
        if let Some(s) = self.sessions.get_mut(self.active) {
            let at = s.parser.screen().scrollback() as isize;
            s.parser.set_scrollback((at + lines).max(0) as usize);
        }
    }

    /// Brings session `index` (0-based) to the front; false when there is none.
    pub fn select(&mut self, index: usize) -> bool {
        if index < self.sessions.len() {
            self.active = index;
            true
        } else {
            false
        }
    }

    /// Sets the size every screen is drawn at; returns the sessions (still running) whose
    /// programs should hear of it, when it changed.
    pub fn resize(&mut self, rows: u16, cols: u16) -> Vec<u32> {
        let (rows, cols) = (rows.max(1), cols.max(1));
        if self.size == (rows, cols) {
            return Vec::new();
        }
        self.size = (rows, cols);
        for s in &mut self.sessions {
            s.parser.set_size(rows, cols);
        }
        self.sessions
            .iter()
            .filter(|s| s.ended.is_none())
            .map(|s| s.id)
            .collect()
    }

    /// The size sessions are drawn at (rows, cols).
    pub fn size(&self) -> (u16, u16) {
        self.size_or_default()
    }

    /// A key for the session in front.
    pub fn key(&mut self, key: KeyEvent) -> KeyOutcome {
        let Some(s) = self.sessions.get_mut(self.active) else {
            return KeyOutcome::Nothing;
        };
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        // Scrollback: shift-pgup/pgdn, as terminals have it; any other key comes back down.
        match key.code {
            KeyCode::PageUp if shift => {
                let at = s.parser.screen().scrollback();
                let page = usize::from(s.parser.screen().size().0);
                s.parser.set_scrollback(at + page);
                return KeyOutcome::Nothing;
            }
            KeyCode::PageDown if shift => {
                let at = s.parser.screen().scrollback();
                let page = usize::from(s.parser.screen().size().0);
                s.parser.set_scrollback(at.saturating_sub(page));
                return KeyOutcome::Nothing;
            }
            _ => s.parser.set_scrollback(0),
        }
        if s.ended.is_some() {
            return KeyOutcome::Close;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if s.attach {
            if s.held_ctrl_p {
                s.held_ctrl_p = false;
                if ctrl && key.code == KeyCode::Char('q') {
                    return KeyOutcome::Detach;
                }
                let mut bytes = vec![0x10];
                bytes.extend(encode(key, s.parser.screen().application_cursor()));
                return KeyOutcome::Send(bytes);
            }
            if ctrl && key.code == KeyCode::Char('p') {
                s.held_ctrl_p = true;
                return KeyOutcome::Nothing;
            }
        }
        let bytes = encode(key, s.parser.screen().application_cursor());
        if bytes.is_empty() {
            KeyOutcome::Nothing
        } else {
            KeyOutcome::Send(bytes)
        }
    }

    /// Text pasted into the session in front, bracketed when its program asked for that.
    pub fn paste(&self, text: &str) -> Vec<u8> {
        let Some(s) = self.active() else {
            return Vec::new();
        };
        if s.parser.screen().bracketed_paste() {
            [b"\x1b[200~", text.as_bytes(), b"\x1b[201~"].concat()
        } else {
            text.as_bytes().to_vec()
        }
    }
}

/// The bytes a terminal sends for `key` (xterm's sequences; arrows in application mode when
/// the program asked for it).
pub fn encode(key: KeyEvent, application_cursor: bool) -> Vec<u8> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let arrow = |c: u8| {
        if application_cursor {
            vec![0x1b, b'O', c]
        } else {
            vec![0x1b, b'[', c]
        }
    };
    let mut out = match key.code {
        KeyCode::Char(c) if ctrl => match c {
            'a'..='z' => vec![c as u8 - b'a' + 1],
            'A'..='Z' => vec![c as u8 - b'A' + 1],
            ' ' | '2' | '@' => vec![0],
            '[' | '3' => vec![0x1b],
            '\\' | '4' => vec![0x1c],
            ']' | '5' => vec![0x1d],
            '^' | '6' => vec![0x1e],
            '_' | '7' | '/' => vec![0x1f],
            '8' | '?' => vec![0x7f],
            c => c.to_string().into_bytes(),
        },
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => arrow(b'A'),
        KeyCode::Down => arrow(b'B'),
        KeyCode::Right => arrow(b'C'),
        KeyCode::Left => arrow(b'D'),
        KeyCode::Home => arrow(b'H'),
        KeyCode::End => arrow(b'F'),
        KeyCode::Insert => b"\x1b[2~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::F(n) => match n {
            1 => b"\x1bOP".to_vec(),
            2 => b"\x1bOQ".to_vec(),
            3 => b"\x1bOR".to_vec(),
            4 => b"\x1bOS".to_vec(),
            5 => b"\x1b[15~".to_vec(),
            6 => b"\x1b[17~".to_vec(),
            7 => b"\x1b[18~".to_vec(),
            8 => b"\x1b[19~".to_vec(),
            9 => b"\x1b[20~".to_vec(),
            10 => b"\x1b[21~".to_vec(),
            11 => b"\x1b[23~".to_vec(),
            12 => b"\x1b[24~".to_vec(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    if alt && !out.is_empty() {
        out.insert(0, 0x1b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn keys_become_what_a_terminal_sends() {
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        assert_eq!(encode(k(KeyCode::Char('a'), none), false), b"a");
        assert_eq!(encode(k(KeyCode::Char('c'), ctrl), false), [3]);
        assert_eq!(encode(k(KeyCode::Char('d'), ctrl), false), [4]);
        assert_eq!(encode(k(KeyCode::Enter, none), false), b"\r");
        assert_eq!(encode(k(KeyCode::Up, none), false), b"\x1b[A");
        assert_eq!(
            encode(k(KeyCode::Up, none), true),
            b"\x1bOA",
            "application mode"
        );
        assert_eq!(
            encode(k(KeyCode::Char('b'), KeyModifiers::ALT), false),
            b"\x1bb"
        );
        assert_eq!(encode(k(KeyCode::F(5), none), false), b"\x1b[15~");
        assert_eq!(encode(k(KeyCode::Char('é'), none), false), "é".as_bytes());
    }

    #[test]
    fn sessions_are_tabs_with_their_own_screens_and_an_attach_detaches() {
        let mut t = Terminals::default();
        t.resize(5, 20);
        let a = t.open("c1", "sh in web".into(), false);
        let b = t.open("c2", "attach db".into(), true);
        assert_eq!(t.active().unwrap().id, b, "the new one in front");
        t.output(a, b"hello\r\n\x1b[31mred\x1b[0m");
        t.output(b, b"other");
        assert!(t.sessions()[0].contents().contains("hello\nred"));
        assert_eq!(t.sessions()[1].contents(), "other");
        // ctrl-p is held: with ctrl-q it detaches, with anything else both go through.
        let ctrl = KeyModifiers::CONTROL;
        assert_eq!(t.key(k(KeyCode::Char('p'), ctrl)), KeyOutcome::Nothing);
        assert_eq!(t.key(k(KeyCode::Char('q'), ctrl)), KeyOutcome::Detach);
        assert_eq!(t.key(k(KeyCode::Char('p'), ctrl)), KeyOutcome::Nothing);
        assert_eq!(
            t.key(k(KeyCode::Char('x'), KeyModifiers::NONE)),
            KeyOutcome::Send(vec![0x10, b'x'])
        );
        t.step(1);
        assert_eq!(t.active().unwrap().id, a);
        // An exec session passes ctrl-p on.
        assert_eq!(
            t.key(k(KeyCode::Char('p'), ctrl)),
            KeyOutcome::Send(vec![0x10])
        );
        // Once ended, a key closes it; the other comes to the front.
        t.ended(a, "sh in web ended (exit 0)".into());
        assert_eq!(
            t.key(k(KeyCode::Char('x'), KeyModifiers::NONE)),
            KeyOutcome::Close
        );
        t.close(a);
        assert_eq!(t.active().unwrap().id, b);
        t.close(b);
        assert!(t.is_empty() && !t.shown && !t.focused);
    }

    #[test]
    fn a_resize_reaches_every_screen_and_scrollback_scrolls() {
        let mut t = Terminals::default();
        t.resize(3, 10);
        let a = t.open("c1", "sh".into(), false);
        for i in 0..10 {
            t.output(a, format!("line{i}\r\n").as_bytes());
        }
        assert!(t.active().unwrap().contents().contains("line9"));
        let shift = KeyModifiers::SHIFT;
        t.key(k(KeyCode::PageUp, shift));
        assert_eq!(t.active().unwrap().scrolled(), 3);
        assert!(t.active().unwrap().contents().contains("line6"));
        t.key(k(KeyCode::PageDown, shift));
        assert_eq!(t.active().unwrap().scrolled(), 0);
        assert_eq!(t.resize(6, 40), vec![a]);
        assert_eq!(t.active().unwrap().screen().size(), (6, 40));
        assert!(t.resize(6, 40).is_empty(), "no change, nothing to tell");
    }
}
