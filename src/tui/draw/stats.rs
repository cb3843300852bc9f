//! The Stats tab: line charts over a time axis of a container's CPU (in % of what it may use:
//! its limit, or the host's cores), memory against its limit, and its network and block IO
//! rates. Each axis is labelled; the x axis says how long ago.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};

use crate::model::StatsSample;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::util::units::{bytes_size, human_size};

/// Points `(seconds before the newest sample, value)` of each chart.
#[derive(Debug, Default, PartialEq)]
pub struct Series {
    /// CPU in % of what the container may use.
    pub cpu: Vec<(f64, f64)>,
    /// Memory in use, bytes.
    pub memory: Vec<(f64, f64)>,
    /// Bytes per second received and sent.
    pub rx: Vec<(f64, f64)>,
    pub tx: Vec<(f64, f64)>,
    /// Bytes per second read from and written to block devices.
    pub read: Vec<(f64, f64)>,
    pub write: Vec<(f64, f64)>,
}

impl Series {
    /// The points of `samples` (oldest first). Rates are counted between neighbours, per
    /// second of their timestamps (at least one: samples come once a second).
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a StatsSample>) -> Series {
        let samples: Vec<&StatsSample> = samples.into_iter().collect();
        let mut s = Series::default();
        let Some(newest) = samples.last().map(|l| l.read) else {
            return s;
        };
        let x = |read: i64| (read - newest) as f64;
        for sample in &samples {
            s.cpu.push((x(sample.read), sample.cpu_of_available()));
            s.memory.push((x(sample.read), sample.memory_usage as f64));
        }
        for w in samples.windows(2) {
            let (a, b) = (w[0], w[1]);
            let dt = (b.read - a.read).max(1) as f64;
            let rate = |f: fn(&StatsSample) -> u64| f(b).saturating_sub(f(a)) as f64 / dt;
            let at = x(b.read);
            s.rx.push((at, rate(|s| s.net_rx)));
            s.tx.push((at, rate(|s| s.net_tx)));
            s.read.push((at, rate(|s| s.block_read)));
            s.write.push((at, rate(|s| s.block_write)));
        }
        s
    }

    /// The newest rate of `points` (0 before there are two samples).
    fn last(points: &[(f64, f64)]) -> f64 {
        points.last().map_or(0.0, |p| p.1)
    }
}

/// The highest value of some series.
fn peak(series: &[&[(f64, f64)]]) -> f64 {
    series
        .iter()
        .flat_map(|s| s.iter().map(|p| p.1))
        .fold(0.0, f64::max)
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v` (at least `floor`).
pub fn nice_ceiling(v: f64, floor: f64) -> f64 {
    let v = v.max(floor);
    let mut step = 10f64.powf(v.log10().floor());
    loop {
        for m in [1.0, 2.0, 5.0, 10.0] {
            if step * m >= v {
                return step * m;
            }
        }
        step *= 10.0;
    }
}

/// The top of the memory axis: the limit when the use reaches a quarter of it, else the next
/// power of two above the peak (so that an unlimited container's line is not flat on zero).
pub fn memory_top(peak: f64, limit: u64) -> f64 {
    let limit = limit as f64;
    if limit > 0.0 && peak * 4.0 >= limit {
        return limit;
    }
    let top = (peak.max(1024.0) * 1.25) as u64;
    let top = top.next_power_of_two() as f64;
    if limit > 0.0 { top.min(limit) } else { top }
}

/// Labels of the time axis for a window of `seconds`: its start, middle and now.
pub fn time_labels(seconds: u64) -> [String; 3] {
    let ago = |s: u64| {
        if s >= 60 && s % 60 == 0 {
            format!("-{}m", s / 60)
        } else {
            format!("-{s}s")
        }
    };
    [ago(seconds), ago(seconds / 2), "now".to_string()]
}

/// CPU in % with the precision its size needs.
pub fn percent(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}%")
    } else {
        format!("{v:.1}%")
    }
}

/// Draws the Stats tab.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let samples = &app.detail.stats;
    let Some(last) = samples.back() else {
        let text = match &app.detail.stats_ended {
            Some(why) => format!("no stats: {why}"),
            None => "waiting for the first sample…".to_string(),
        };
        return super::detail::placeholder(frame, t, area, text);
    };
    let s = Series::of(samples);
    let window = app.detail.stats_window().max(10) as f64;
    let rows = Layout::vertical([Constraint::Ratio(1, 2); 2]).split(area);
    let cells: Vec<Rect> = rows
        .iter()
        .flat_map(|r| {
            Layout::horizontal([Constraint::Ratio(1, 2); 2])
                .spacing(2)
                .split(*r)
                .to_vec()
        })
        .collect();
    let chart =
        |title, lines, top, unit: &dyn Fn(f64) -> String| chart(t, window, title, lines, top, unit);

    let of = match last
        .cpu_limit
        .filter(|_| last.cpus_available() < f64::from(last.host_cpus))
    {
        Some(_) => format!("of its {}-CPU limit", trim(last.cpus_available())),
        None if last.cpus_available() == 1.0 => "of 1 host core".to_string(),
        None => format!("of {} host cores", trim(last.cpus_available())),
    };
    let cpu_title = title(
        t,
        vec![(
            format!("CPU {} {of}", percent(last.cpu_of_available())),
            t.running.0,
        )],
    );
    let cpu_top = nice_ceiling(peak(&[&s.cpu]), 1.0).min(100.0);
    frame.render_widget(
        chart(cpu_title, vec![(&s.cpu, t.running.0)], cpu_top, &|v| {
            format!("{}%", trim(v))
        }),
        cells[0],
    );

    let mem_top = memory_top(peak(&[&s.memory]), last.memory_limit);
    let mem_title = title(
        t,
        vec![(
            format!(
                "MEM {} of {} ({:.1}%)",
                bytes_size(last.memory_usage),
                bytes_size(last.memory_limit),
                last.memory_percent()
            ),
            t.accent.0,
        )],
    );
    frame.render_widget(
        chart(mem_title, vec![(&s.memory, t.accent.0)], mem_top, &|v| {
            bytes_size(v as u64)
        }),
        cells[1],
    );

    let rate = |v: f64| format!("{}/s", human_size(v as u64));
    let net_top = nice_ceiling(peak(&[&s.rx, &s.tx]), 1000.0);
    let net_title = title(
        t,
        vec![
            (format!("NET in {}", rate(Series::last(&s.rx))), t.created.0),
            (format!("out {}", rate(Series::last(&s.tx))), t.marked.0),
        ],
    );
    frame.render_widget(
        chart(
            net_title,
            vec![(&s.rx, t.created.0), (&s.tx, t.marked.0)],
            net_top,
            &rate,
        ),
        cells[2],
    );

    let io_top = nice_ceiling(peak(&[&s.read, &s.write]), 1000.0);
    let io_title = title(
        t,
        vec![
            (
                format!("IO read {}", rate(Series::last(&s.read))),
                t.paused.0,
            ),
            (
                format!("write {}", rate(Series::last(&s.write))),
                t.exited.0,
            ),
            (format!("PIDS {}", last.pids), t.foreground.0),
        ],
    );
    frame.render_widget(
        chart(
            io_title,
            vec![(&s.read, t.paused.0), (&s.write, t.exited.0)],
            io_top,
            &rate,
        ),
        cells[3],
    );
}

/// One chart over the last `window` seconds, its lines from 0 to `top` with labels in `unit`.
fn chart<'a>(
    t: &Theme,
    window: f64,
    title: Line<'a>,
    lines: Vec<(&'a [(f64, f64)], Color)>,
    top: f64,
    unit: &dyn Fn(f64) -> String,
) -> Chart<'a> {
    let datasets = lines
        .into_iter()
        .map(|(data, colour)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(colour))
                .data(data)
        })
        .collect();
    Chart::new(datasets)
        .block(Block::default().title(title))
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([-window, 0.0])
                .style(t.muted())
                .labels(time_labels(window as u64).map(|l| Span::styled(l, t.muted()))),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .style(t.muted())
                .labels([0.0, top / 2.0, top].map(|v| Span::styled(unit(v), t.muted()))),
        )
}

/// A chart's title: each part in the colour of its line, parts apart by " · ".
fn title(t: &Theme, parts: Vec<(String, Color)>) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (text, colour)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.muted()));
        }
        spans.push(Span::styled(text, t.header().fg(colour)));
    }
    Line::from(spans)
}

/// A number of CPUs without trailing zeros: 1.5, 2, 0.25.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(read: i64, cpu: f64, net_rx: u64) -> StatsSample {
        StatsSample {
            read,
            cpu_percent: cpu,
            host_cpus: 2,
            memory_usage: 1 << 20,
            memory_limit: 1 << 30,
            net_rx,
            ..StatsSample::default()
        }
    }

    #[test]
    fn series_put_the_newest_sample_at_zero_and_count_rates_per_second() {
        let samples = [
            sample(100, 50.0, 0),
            sample(101, 100.0, 1000),
            sample(103, 20.0, 5000),
        ];
        let s = Series::of(&samples);
        // CPU of two host cores: 50% of one core is 25%.
        assert_eq!(s.cpu, vec![(-3.0, 25.0), (-2.0, 50.0), (0.0, 10.0)]);
        // 4000 bytes over two seconds.
        assert_eq!(s.rx, vec![(-2.0, 1000.0), (0.0, 2000.0)]);
        assert_eq!(Series::last(&s.rx), 2000.0);
        assert_eq!(Series::of(&[]), Series::default());
        // A counter that went back (a restarted container) is no negative rate.
        let back = [sample(1, 0.0, 9000), sample(2, 0.0, 10)];
        assert_eq!(Series::of(&back).rx, vec![(0.0, 0.0)]);
    }

    #[test]
    fn axes_end_at_round_figures() {
        assert_eq!(nice_ceiling(0.3, 1.0), 1.0);
        assert_eq!(nice_ceiling(3.7, 1.0), 5.0);
        assert_eq!(nice_ceiling(12.0, 1.0), 20.0);
        assert_eq!(nice_ceiling(100.0, 1.0), 100.0);
        assert_eq!(nice_ceiling(0.0, 1000.0), 1000.0);
        assert_eq!(nice_ceiling(61_000.0, 1000.0), 100_000.0);
        // Near the limit the axis is the limit; far below it, a power of two above the peak.
        assert_eq!(
            memory_top(400.0 * 1048576.0, 512 << 20),
            (512u64 << 20) as f64
        );
        assert_eq!(
            memory_top(91.0 * 1048576.0, 16 << 30),
            (128u64 << 20) as f64
        );
        assert_eq!(time_labels(120), ["-2m", "-1m", "now"].map(String::from));
        assert_eq!(time_labels(90), ["-90s", "-45s", "now"].map(String::from));
        assert_eq!(
            (percent(5.04), percent(57.3)),
            ("5.0%".into(), "57%".into())
        );
        assert_eq!(
            (trim(1.5), trim(2.0), trim(0.25)),
            ("1.5".into(), "2".into(), "0.25".into())
        );
    }
}
