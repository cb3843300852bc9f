//! Messages into `App::update`: terminal input, timer ticks and the results of backend
//! requests. Everything that changes the UI state arrives as an [`Action`].

use crossterm::event::KeyEvent;

use crate::backend::BackendError;

use crate::model::{
    BuildEvent, ContainerDetails, ContainerSummary, Event, HistoryEntry, ImageDetails,
    ImageSummary, LogLine, NetworkSummary, PullProgress, StatsSample, TopOutput, VolumeSummary,
};

/// A failed request as the UI keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The message to show.
    pub message: String,
    /// Whether the endpoint itself is unreachable.
    pub unavailable: bool,
}

impl From<BackendError> for Failure {
    fn from(e: BackendError) -> Self {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        Failure {
            unavailable: e.is_unavailable(),
            message,
        }
    }
}

/// A chunk of a terminal session's output on its way to the UI. It holds its share of the
/// session's budget of bytes in flight until the UI has dropped it, so that a session
/// writing faster than the pane can take it (`yes`) waits instead of filling the queue.
#[derive(Debug, Clone)]
pub struct TermOutput {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The share of the budget, given back when the last clone goes.
    pub held: std::sync::Arc<tokio::sync::OwnedSemaphorePermit>,
}

/// Result of a request as the UI receives it.
pub type Outcome<T> = Result<T, Failure>;

/// One list as loaded from the backend.
#[derive(Debug, Clone)]
pub enum Lists {
    /// Containers (all, stopped too).
    Containers(Outcome<Vec<ContainerSummary>>),
    /// Images.
    Images(Outcome<Vec<ImageSummary>>),
    /// Volumes.
    Volumes(Outcome<Vec<VolumeSummary>>),
    /// Networks.
    Networks(Outcome<Vec<NetworkSummary>>),
}

impl Lists {
    /// The pane the list is for.
    pub fn pane(&self) -> crate::tui::panes::PaneKind {
        use crate::tui::panes::PaneKind;
        match self {
            Lists::Containers(_) => PaneKind::Containers,
            Lists::Images(_) => PaneKind::Images,
            Lists::Volumes(_) => PaneKind::Volumes,
            Lists::Networks(_) => PaneKind::Networks,
        }
    }
}

/// Detail data for the object with id `.0`.
#[derive(Debug, Clone)]
pub enum Loaded {
    /// Inspect of a container (also fills Env and Ports).
    Container(String, Outcome<Box<ContainerDetails>>),
    /// Processes of a container.
    Top(String, Outcome<TopOutput>),
    /// Inspect of an image.
    Image(String, Outcome<Box<ImageDetails>>),
    /// History of an image.
    History(String, Outcome<Vec<HistoryEntry>>),
    /// Pretty JSON of a volume or network.
    Json(String, Outcome<String>),
}

/// Everything `App::update` reacts to.
#[derive(Debug, Clone)]
pub enum Action {
    /// A key press.
    Key(KeyEvent),
    /// The terminal was resized to width x height.
    Resize(u16, u16),
    /// The clock ticked (relative times, message expiry).
    Tick,
    /// Time to re-read the lists.
    Refresh,
    /// A list arrived.
    List(Lists),
    /// Detail data arrived.
    Detail(Loaded),
    /// New log lines of a container.
    LogLines(String, Vec<LogLine>),
    /// New lines of merged logs (by the key they were opened under), each with the number of
    /// the container that wrote it.
    MergedLogLines(String, Vec<(u16, LogLine)>),
    /// A mouse click or wheel turn.
    Mouse(crossterm::event::MouseEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// Output of a terminal pane's session.
    TerminalOutput(u32, TermOutput),
    /// A terminal pane's session ended, and how.
    TerminalEnded(u32, String),
    /// The log stream of a container ended (with the error, if any).
    LogEnded(String, Option<String>),
    /// A stats sample of a container.
    Stats(String, StatsSample),
    /// A sample for the CPU and MEM columns of a container on screen.
    Usage(String, StatsSample),
    /// The sample stream of a container on screen ended.
    UsageEnded(String),
    /// The stats stream of a container ended (with the error, if any).
    StatsEnded(String, Option<String>),
    /// An action on objects finished: what was done, and the failures.
    Finished {
        /// Past-tense summary, e.g. "stopped web, api".
        done: String,
        /// One message per failed object.
        failures: Vec<String>,
    },
    /// Progress of the build started from the TUI, or why it failed.
    Building(Result<BuildEvent, String>),
    /// A commit of the container named `.0` finished: the new image's id.
    Committed(String, Outcome<String>),
    /// Progress of a pull started from the TUI.
    Pulled(String, Result<PullProgress, String>),
    /// A change reported by the backend.
    Backend(Event),
    /// The events stream ended.
    EventsEnded(Option<String>),
    /// Bytes that pruning the stopped containers frees, measured for the prune dialog.
    PruneMeasured(Outcome<u64>),
}
