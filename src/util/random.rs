//! Random bits from the kernel, for ids and generated names.

/// 64 random bits (`/dev/urandom`; the pid and the time where it cannot be read).
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_err()
    {
        b = (std::process::id() as u64 ^ super::time::unix_now() as u64).to_le_bytes();
    }
    u64::from_le_bytes(b)
}

/// A new id: 64 random hex digits, as Docker gives containers, networks and anonymous
/// volumes.
pub fn random_id() -> String {
    (0..4).map(|_| format!("{:016x}", random_u64())).collect()
}
