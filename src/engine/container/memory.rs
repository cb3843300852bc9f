//! The monitor's memory: what making the container used and supervising it does not need is
//! given back once the container runs, so a running container costs about 2 MiB.

/// Gives back the memory that making the container used and supervising it does not: the
/// pages of code and read-only data (of this binary and its libraries) mapped while
/// libcontainer ran (they are faulted in again if ever needed; only read-only, never-written
/// mappings of files are dropped, so nothing is lost), and the heap's free space.
pub(super) fn shed_startup_memory() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [range, perms, offset, _dev, _inode, path] = fields[..] else {
            continue;
        };
        if !path.starts_with('/') {
            continue;
        }
        // The code, and the read-only segment at the start of the file. Relocated read-only
        // data (RELRO) was written before it was protected, so it is left alone.
        let code = perms == "r-xp";
        let head = perms == "r--p" && u64::from_str_radix(offset, 16) == Ok(0);
        if !(code || head) {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        let Some(addr) = std::ptr::NonNull::new(start as *mut std::ffi::c_void) else {
            continue;
        };
        // SAFETY: a private, read-only mapping of our own executable that was never written:
        // dropping its pages loses nothing, the next access reads them from the file again.
        let _ = unsafe {
            nix::sys::mman::madvise(addr, end - start, nix::sys::mman::MmapAdvise::MADV_DONTNEED)
        };
    }
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory to the system.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
