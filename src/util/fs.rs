//! Facts about directory trees.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes the regular files under `dir` take, each inode counted once; symlinks are not
/// followed and unreadable parts count nothing.
pub fn tree_size(dir: &Path) -> u64 {
    let mut seen = std::collections::BTreeSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}
