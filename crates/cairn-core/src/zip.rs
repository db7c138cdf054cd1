//! Zip archives made deterministically: entries stored uncompressed, in the order given
//! (callers sort them), each with a fixed timestamp (1980-01-01 00:00, the earliest a zip
//! can hold) and one of two fixed Unix modes (`0644`, or `0755` for an executable), so the
//! same files always give the same bytes (and Lambda's `CodeSha256` stays the same).
//! Used for a Lambda function's inline code (`Code.ZipFile`, one file, as CloudFormation
//! makes it) and for local code assets ([`crate::asset`]).
//!
//! Stored, not deflated: the bytes must not depend on a compressor's version, or a new
//! cairn would show every function's code as changed. Lambda takes up to 50 MB as a
//! direct upload.

/// CRC-32 (IEEE 802.3, the zip format's checksum).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// DOS date of 1980-01-01 (day 1, month 1, year 0); the time is 00:00:00.
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;
/// Version 2.0 of the format; "made by" Unix (3), so that the mode below is honoured.
const VERSION: u16 = 20;
const MADE_BY_UNIX: u16 = (3 << 8) | VERSION;
/// A regular file, `rw-r--r--`, or `rwxr-xr-x`.
const MODE: u32 = 0o100644;
const MODE_EXECUTABLE: u32 = 0o100755;

/// One file of an archive.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The path inside the archive, with `/` separators.
    pub name: &'a str,
    pub data: &'a [u8],
    pub executable: bool,
}

/// Why files cannot be one archive (zip64 is not written).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct TooLarge(String);

/// One file `name` holding `data`, stored, as a zip archive (inline code: a few
/// kilobytes).
pub fn single_file(name: &str, data: &[u8]) -> Vec<u8> {
    archive(&[Entry { name, data, executable: false }]).expect("inline code is far below 4 GiB")
}

/// The entries, in the order given, stored, as a zip archive.
pub fn archive(entries: &[Entry<'_>]) -> Result<Vec<u8>, TooLarge> {
    let count = u16::try_from(entries.len())
        .ok()
        .filter(|n| *n < u16::MAX)
        .ok_or_else(|| TooLarge(format!("{} files: an archive holds at most 65534", entries.len())))?;
    let total: usize = entries.iter().map(|e| e.data.len() + 2 * e.name.len() + 76).sum::<usize>() + 22;
    if u32::try_from(total).is_err() {
        return Err(TooLarge(format!("{total} bytes: an archive holds at most 4 GiB")));
    }
    let mut out = Vec::with_capacity(total);
    let put16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
    let put32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    let mut central = Vec::new();
    for e in entries {
        let size = e.data.len() as u32; // below 4 GiB: checked above
        let name_len =
            u16::try_from(e.name.len()).map_err(|_| TooLarge(format!("a file name of {} bytes", e.name.len())))?;
        let crc = crc32(e.data);
        let offset = out.len() as u32;

        // Local file header, then the data.
        put32(&mut out, 0x0403_4b50);
        put16(&mut out, VERSION);
        put16(&mut out, 0); // flags
        put16(&mut out, 0); // method: stored
        put16(&mut out, DOS_TIME);
        put16(&mut out, DOS_DATE);
        put32(&mut out, crc);
        put32(&mut out, size); // compressed size
        put32(&mut out, size);
        put16(&mut out, name_len);
        put16(&mut out, 0); // extra field length
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(e.data);

        // Its central directory entry.
        put32(&mut central, 0x0201_4b50);
        put16(&mut central, MADE_BY_UNIX);
        put16(&mut central, VERSION);
        put16(&mut central, 0); // flags
        put16(&mut central, 0); // method
        put16(&mut central, DOS_TIME);
        put16(&mut central, DOS_DATE);
        put32(&mut central, crc);
        put32(&mut central, size);
        put32(&mut central, size);
        put16(&mut central, name_len);
        put16(&mut central, 0); // extra
        put16(&mut central, 0); // comment
        put16(&mut central, 0); // disk number
        put16(&mut central, 0); // internal attributes
        put32(&mut central, (if e.executable { MODE_EXECUTABLE } else { MODE }) << 16); // external attributes: the Unix mode
        put32(&mut central, offset); // offset of the local header
        central.extend_from_slice(e.name.as_bytes());
    }
    let central_start = out.len() as u32;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);

    // End of central directory.
    put32(&mut out, 0x0605_4b50);
    put16(&mut out, 0); // this disk
    put16(&mut out, 0); // disk of the central directory
    put16(&mut out, count); // entries on this disk
    put16(&mut out, count); // entries
    put32(&mut out, central_size);
    put32(&mut out, central_start);
    put16(&mut out, 0); // comment length
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn the_same_source_gives_the_same_bytes() {
        let src = b"exports.handler = async () => 'ok';\n";
        let a = single_file("index.js", src);
        assert_eq!(a, single_file("index.js", src));
        assert_ne!(a, single_file("index.js", b"exports.handler = async () => 'ko';\n"));
        assert_ne!(a, single_file("index.py", src));
    }

    #[test]
    fn layout_of_one_stored_file() {
        let src = b"def handler(event, context):\n    return 1\n";
        let z = single_file("index.py", src);
        let u16_at = |i: usize| u16::from_le_bytes([z[i], z[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([z[i], z[i + 1], z[i + 2], z[i + 3]]);
        // Local header: signature, stored, 1980-01-01, CRC, sizes, name, then the data as is.
        assert_eq!(u32_at(0), 0x0403_4b50);
        assert_eq!(u16_at(8), 0);
        assert_eq!((u16_at(10), u16_at(12)), (0, 0x21));
        assert_eq!(u32_at(14), crc32(src));
        assert_eq!((u32_at(18), u32_at(22)), (src.len() as u32, src.len() as u32));
        assert_eq!(&z[30..38], b"index.py");
        assert_eq!(&z[38..38 + src.len()], src);
        // End of central directory: one entry, and the central directory where it says.
        let eocd = z.len() - 22;
        assert_eq!(u32_at(eocd), 0x0605_4b50);
        assert_eq!(u16_at(eocd + 10), 1);
        let (cd_size, cd_start) = (u32_at(eocd + 12) as usize, u32_at(eocd + 16) as usize);
        assert_eq!(cd_start + cd_size, eocd);
        assert_eq!(u32_at(cd_start), 0x0201_4b50);
        assert_eq!(u16_at(cd_start + 4) >> 8, 3, "made by Unix");
        assert_eq!(u32_at(cd_start + 38) >> 16, 0o100644);
        assert_eq!(&z[cd_start + 46..cd_start + 54], b"index.py");
    }

    #[test]
    fn several_files_in_the_order_given_with_their_modes() {
        let z = archive(&[
            Entry { name: "bootstrap", data: b"#!/bin/sh\n", executable: true },
            Entry { name: "lib/a.js", data: b"a", executable: false },
        ])
        .unwrap();
        let u16_at = |i: usize| u16::from_le_bytes([z[i], z[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([z[i], z[i + 1], z[i + 2], z[i + 3]]);
        let eocd = z.len() - 22;
        assert_eq!((u16_at(eocd + 8), u16_at(eocd + 10)), (2, 2));
        let cd = u32_at(eocd + 16) as usize;
        assert_eq!(u32_at(cd + 38) >> 16, 0o100755);
        assert_eq!(&z[cd + 46..cd + 55], b"bootstrap");
        let second = cd + 46 + 9;
        assert_eq!(u32_at(second), 0x0201_4b50);
        assert_eq!(u32_at(second + 38) >> 16, 0o100644);
        // The second entry's local header is where its central entry says.
        let local = u32_at(second + 42) as usize;
        assert_eq!(u32_at(local), 0x0403_4b50);
        assert_eq!(&z[local + 30..local + 38], b"lib/a.js");
        assert!(archive(&[]).is_ok());
    }
}
