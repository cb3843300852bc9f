//! Fuzzes the layer unpacker with arbitrary tarballs: it must never panic, and whatever it
//! accepts or refuses, nothing may appear beside the layer directory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = tempfile::tempdir().expect("a temporary directory");
    let layer = root.path().join("layer");
    std::fs::create_dir(&layer).expect("the layer directory");
    let _ = dockhand::engine::layer::unpack(data, &layer);
    let beside: Vec<_> = std::fs::read_dir(root.path())
        .expect("the temporary directory")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert_eq!(beside, ["layer"], "something was written outside the layer");
});
