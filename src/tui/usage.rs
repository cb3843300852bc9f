//! The CPU and MEM columns of the Containers list: which containers are watched (the running
//! ones on screen, and only while the columns are shown) and their latest samples.

use std::collections::{BTreeSet, HashMap};

use crate::model::StatsSample;

/// The latest sample of each watched container.
#[derive(Debug, Default)]
pub struct Usage {
    samples: HashMap<String, StatsSample>,
    /// What the runner streams now, in screen order.
    watched: Vec<String>,
    /// Streams that ended while their container was still on screen: not asked for again
    /// until the list is loaded anew (so that a failing endpoint is no busy loop).
    ended: BTreeSet<String>,
}

impl Usage {
    /// The latest sample of container `id`.
    pub fn get(&self, id: &str) -> Option<&StatsSample> {
        self.samples.get(id)
    }

    /// Whether container `id` is watched (its sample may be on its way).
    pub fn is_watched(&self, id: &str) -> bool {
        self.watched.iter().any(|w| w == id)
    }

    /// Keeps a sample of a watched container; others are late and dropped.
    pub fn push(&mut self, id: String, sample: StatsSample) {
        if self.is_watched(&id) {
            self.samples.insert(id, sample);
        }
    }

    /// The stream of `id` ended (its container stopped, or the endpoint failed).
    pub fn ended(&mut self, id: &str) {
        self.samples.remove(id);
        if self.is_watched(id) {
            self.watched.retain(|w| w != id);
            self.ended.insert(id.to_string());
        }
    }

    /// A new list arrived: the containers whose streams ended may be asked for again.
    pub fn list_loaded(&mut self) {
        self.ended.clear();
    }

    /// Sets what to watch; the full set to stream when it changed, `None` when not.
    pub fn watch(&mut self, ids: Vec<String>) -> Option<Vec<String>> {
        let ids: Vec<String> = ids
            .into_iter()
            .filter(|id| !self.ended.contains(id))
            .collect();
        if ids == self.watched {
            return None;
        }
        self.samples.retain(|id, _| ids.contains(id));
        self.watched = ids.clone();
        Some(ids)
    }
}

/// CPU for the list: of what the container may use, as the Stats tab charts it.
pub fn cpu_cell(sample: &StatsSample) -> String {
    let v = sample.cpu_of_available();
    if v >= 10.0 {
        format!("{v:.0}%")
    } else {
        format!("{v:.1}%")
    }
}

/// Memory for the list, three significant figures in binary units: `91.2M`, `1.50G`.
pub fn memory_cell(sample: &StatsSample) -> String {
    let mut v = sample.memory_usage as f64;
    let mut unit = 0;
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let digits = if unit == 0 || v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_watched_samples_are_kept_and_an_ended_stream_waits_for_the_next_list() {
        let mut u = Usage::default();
        assert_eq!(
            u.watch(vec!["a".into(), "b".into()]),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(u.watch(vec!["a".into(), "b".into()]), None);
        u.push("a".into(), StatsSample::default());
        u.push("z".into(), StatsSample::default());
        assert!(u.get("a").is_some() && u.get("z").is_none());
        // Scrolled away: its sample goes.
        assert_eq!(u.watch(vec!["b".into()]), Some(vec!["b".into()]));
        assert!(u.get("a").is_none());
        u.ended("b");
        assert_eq!(u.watch(vec!["b".into()]), None);
        assert_eq!(
            u.watch(vec!["b".into(), "c".into()]),
            Some(vec!["c".into()])
        );
        u.list_loaded();
        assert_eq!(
            u.watch(vec!["b".into(), "c".into()]),
            Some(vec!["b".into(), "c".into()])
        );
    }

    #[test]
    fn cells_are_short() {
        let s = StatsSample {
            cpu_percent: 150.0,
            host_cpus: 4,
            memory_usage: 95_631_360,
            ..StatsSample::default()
        };
        assert_eq!(
            (cpu_cell(&s), memory_cell(&s)),
            ("38%".into(), "91.2M".into())
        );
        let s = StatsSample {
            cpu_percent: 2.0,
            cpu_limit: Some(0.5),
            host_cpus: 4,
            memory_usage: 1536 << 20,
            ..StatsSample::default()
        };
        assert_eq!(
            (cpu_cell(&s), memory_cell(&s)),
            ("4.0%".into(), "1.50G".into())
        );
        assert_eq!(memory_cell(&StatsSample::default()), "0B");
    }
}
