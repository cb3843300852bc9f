//! Layer compression: a layer blob is read as gzip, zstd or a plain tar, told apart by its
//! first bytes (registries and `docker save` archives use all three).

use std::io::{BufReader, Cursor, Read};

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (`application/vnd.oci.image.layer.v1.tar+gzip`).
    Gzip,
    /// zstd (`application/vnd.oci.image.layer.v1.tar+zstd`).
    Zstd,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

impl Compression {
    /// Tells the compression from the first bytes of a blob.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// The uncompressed tar stream of a layer blob, whatever its compression.
pub fn decompress<'a>(mut reader: impl Read + 'a) -> std::io::Result<Box<dyn Read + 'a>> {
    // A pipe or socket may hand out fewer bytes than the magic at first: read until there are
    // four or the stream ends, then put them back in front.
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let kind = Compression::sniff(&head[..got]);
    let whole = BufReader::with_capacity(1 << 16, Cursor::new(head).take(got as u64).chain(reader));
    Ok(match kind {
        Compression::None => Box::new(whole),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(whole)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(whole)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(blob: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        decompress(&blob[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn reads_plain_gzip_and_zstd_alike() {
        let data = b"a tar stream, or anything else".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::stream::encode_all(&data[..], 1).unwrap();
        assert_eq!(Compression::sniff(&gz), Compression::Gzip);
        assert_eq!(Compression::sniff(&zst), Compression::Zstd);
        assert_eq!(Compression::sniff(&data), Compression::None);
        assert_eq!(roundtrip(gz), data);
        assert_eq!(roundtrip(zst.clone()), data);
        assert_eq!(roundtrip(data.clone()), data);
        assert!(roundtrip(Vec::new()).is_empty());
        // One byte at a time, as a slow pipe would give it.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        decompress(Trickle(&zst))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn a_corrupt_gzip_stream_is_an_error() {
        let mut bad = GZIP_MAGIC.to_vec();
        bad.extend_from_slice(b"not deflate at all");
        let mut out = Vec::new();
        assert!(decompress(&bad[..]).unwrap().read_to_end(&mut out).is_err());
    }
}
