//! Colours of the TUI: the `[theme]` config table and the styles derived from it.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::{Deserialize, Deserializer};

use crate::model::ContainerState;

/// A colour from the config file: a name (`red`, `light-blue`, `dark-gray`, `reset`),
/// an indexed colour `0`–`255`, or `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThemeColor(pub Color);

impl<'de> Deserialize<'de> for ThemeColor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Color::from_str(&s).map(ThemeColor).map_err(|_| {
            serde::de::Error::custom(format!(
                "invalid colour {s:?}: use a name (black, red, green, yellow, blue, magenta, cyan, gray, dark-gray, light-red, …, white, reset), a number 0-255 or #rrggbb"
            ))
        })
    }
}

macro_rules! theme {
    ($( $field:ident = $default:expr, $doc:literal; )*) => {
        /// The `[theme]` table.
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Theme { $( #[doc = $doc] pub $field: ThemeColor, )* }

        impl Default for Theme {
            fn default() -> Self {
                Theme { $( $field: ThemeColor($default), )* }
            }
        }
    };
}

theme! {
    foreground = Color::Reset, "text";
    background = Color::Reset, "background";
    accent = Color::Cyan, "active pane title, focused border, key names";
    border = Color::DarkGray, "borders of unfocused areas";
    header = Color::Yellow, "table headers";
    selection_fg = Color::Black, "selected row text";
    selection_bg = Color::Cyan, "selected row background";
    marked = Color::Magenta, "rows marked for a bulk action";
    status_fg = Color::White, "status bar text";
    status_bg = Color::DarkGray, "status bar background";
    running = Color::Green, "running containers";
    paused = Color::Yellow, "paused and restarting containers";
    exited = Color::Red, "exited and dead containers";
    created = Color::Blue, "created containers";
    muted = Color::DarkGray, "secondary text";
    error = Color::LightRed, "errors and stderr lines";
    demo = Color::Magenta, "the demo-data badge";
    highlight = Color::Yellow, "search matches";
}

impl Theme {
    /// Plain text.
    pub fn base(&self) -> Style {
        Style::default().fg(self.foreground.0).bg(self.background.0)
    }

    /// Colour for a container state.
    pub fn state(&self, state: ContainerState) -> Style {
        let c = match state {
            ContainerState::Running => self.running,
            ContainerState::Paused | ContainerState::Restarting => self.paused,
            ContainerState::Exited | ContainerState::Dead | ContainerState::Removing => self.exited,
            ContainerState::Created => self.created,
        };
        Style::default().fg(c.0)
    }

    /// The selected row.
    pub fn selection(&self) -> Style {
        Style::default()
            .fg(self.selection_fg.0)
            .bg(self.selection_bg.0)
            .add_modifier(Modifier::BOLD)
    }

    /// Table headers.
    pub fn header(&self) -> Style {
        Style::default()
            .fg(self.header.0)
            .add_modifier(Modifier::BOLD)
    }

    /// Border of an area; accent when focused.
    pub fn border(&self, focused: bool) -> Style {
        Style::default().fg(if focused {
            self.accent.0
        } else {
            self.border.0
        })
    }

    /// Status bar.
    pub fn status(&self) -> Style {
        Style::default().fg(self.status_fg.0).bg(self.status_bg.0)
    }

    /// Key names in hints and help.
    pub fn key(&self) -> Style {
        Style::default()
            .fg(self.accent.0)
            .add_modifier(Modifier::BOLD)
    }

    /// Secondary text.
    pub fn muted(&self) -> Style {
        Style::default().fg(self.muted.0)
    }

    /// Error text.
    pub fn error(&self) -> Style {
        Style::default().fg(self.error.0)
    }
}

/// The colour of a container's name in merged logs: the same for the same name, in every
/// view and every run.
pub fn source_color(name: &str) -> Color {
    const COLORS: [Color; 6] = [
        Color::Cyan,
        Color::Green,
        Color::Yellow,
        Color::Magenta,
        Color::LightBlue,
        Color::LightRed,
    ];
    // FNV-1a: stable across builds, unlike the standard library's hasher.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    COLORS[(hash % COLORS.len() as u64) as usize]
}
