//! Errors shown to a user: one line with every cause, each said once.

/// The error and its causes on one line, without repeating what a cause already said.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Plain(String);

    #[derive(Debug, thiserror::Error)]
    #[error("{what}: {source}")]
    struct Wrapping {
        what: String,
        source: Plain,
    }

    #[test]
    fn causes_are_said_once() {
        let e = Wrapping {
            what: "cannot freeze the container".into(),
            source: Plain("device or resource busy".into()),
        };
        assert_eq!(
            chain(&e),
            "cannot freeze the container: device or resource busy"
        );
        let outer = anyhow::Error::new(e).context("pause web");
        assert_eq!(
            chain(outer.as_ref()),
            "pause web: cannot freeze the container: device or resource busy"
        );
    }
}
