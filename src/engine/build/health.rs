//! HEALTHCHECK: `NONE`, or `CMD` in either form with its interval, timeout, start period,
//! start interval and retries, as the image config stores it.

use serde_json::{Value, json};

use super::parse::{Args, Raw};
use super::step::flag;
use super::{Build, BuildError};

/// A duration of HEALTHCHECK's flags (`30s`, `1m30s`, `500ms`) in nanoseconds.
fn duration(value: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut number = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: u64 = std::mem::take(&mut number).parse().ok()?;
        let scale = match unit.as_str() {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        total += n * scale;
    }
    (number.is_empty() && !value.is_empty()).then_some(total)
}

impl Build<'_> {
    pub(super) fn healthcheck(&self, raw: &Raw) -> Result<Value, BuildError> {
        let at = |e: String| BuildError::at(raw.line, e);
        let text = match &raw.args {
            Args::Shell(t) => t.trim().to_string(),
            Args::Json(_) => {
                return Err(at(
                    "HEALTHCHECK: write HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE"
                        .into(),
                ));
            }
        };
        if text.eq_ignore_ascii_case("none") {
            return Ok(json!({"Test": ["NONE"]}));
        }
        let Some(rest) = text
            .split_once(char::is_whitespace)
            .filter(|(c, _)| c.eq_ignore_ascii_case("cmd"))
            .map(|(_, r)| r.trim())
        else {
            return Err(at(
                "HEALTHCHECK: write HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE".into(),
            ));
        };
        let test = match serde_json::from_str::<Vec<String>>(rest) {
            Ok(v) if rest.starts_with('[') => std::iter::once("CMD".to_string()).chain(v).collect(),
            _ => vec!["CMD-SHELL".to_string(), rest.to_string()],
        };
        let mut hc = json!({"Test": test});
        for (name, field) in [
            ("interval", "Interval"),
            ("timeout", "Timeout"),
            ("start-period", "StartPeriod"),
            ("start-interval", "StartInterval"),
        ] {
            if let Some(v) = flag(raw, name) {
                let v = v.unwrap_or("");
                let ns = duration(v).ok_or_else(|| {
                    at(format!(
                        "--{name}={v}: write a duration such as 30s or 1m30s"
                    ))
                })?;
                hc[field] = json!(ns);
            }
        }
        if let Some(v) = flag(raw, "retries") {
            let n: u64 = v
                .unwrap_or("")
                .parse()
                .map_err(|_| at("--retries takes a number".into()))?;
            hc["Retries"] = json!(n);
        }
        Ok(hc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30s"), Some(30_000_000_000));
        assert_eq!(duration("1m30s"), Some(90_000_000_000));
        assert_eq!(duration("500ms"), Some(500_000_000));
        assert_eq!(duration("10"), None);
        assert_eq!(duration("5x"), None);
    }
}
