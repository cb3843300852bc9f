//! Byte sizes the way Docker prints them: decimal for disk sizes, binary for memory.

/// Four significant digits with trailing zeros dropped, like Go's `%.4g` for these ranges.
fn four_significant(v: f64) -> String {
    let digits = if v >= 1000.0 {
        0
    } else if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn scaled(bytes: f64, base: f64, units: &[&str]) -> String {
    let mut v = bytes;
    let mut i = 0;
    while v >= base && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    format!("{}{}", four_significant(v), units[i])
}

/// Disk sizes in decimal units, as `docker images` prints them: `7.8MB`, `133MB`.
pub fn human_size(bytes: u64) -> String {
    scaled(bytes as f64, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"])
}

/// Memory sizes in binary units, as `docker stats` prints them: `12.5MiB`, `1GiB`.
pub fn bytes_size(bytes: u64) -> String {
    scaled(
        bytes as f64,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(7_800_000), "7.8MB");
        assert_eq!(human_size(133_700_000), "133.7MB");
        assert_eq!(human_size(1_234_567_890), "1.235GB");
        assert_eq!(bytes_size(1024), "1KiB");
        assert_eq!(bytes_size(13_107_200), "12.5MiB");
        assert_eq!(bytes_size(2 * 1024 * 1024 * 1024), "2GiB");
    }
}
