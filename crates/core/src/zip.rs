//! A ZIP archive written as a stream (stored entries, sizes in data
//! descriptors), so an export of any size leaves the server in pieces and
//! memory stays flat: XLSX workbooks and archives of transcripts.
//!
//! The writer only returns bytes; the caller sends them on.

/// CRC-32 (IEEE), as ZIP wants it.
fn crc32(mut crc: u32, data: &[u8]) -> u32 {
    crc = !crc;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

struct Entry {
    name: String,
    crc: u32,
    size: u32,
    offset: u32,
}

/// Writes entries one after the other; each piece of output is returned
/// to be sent at once.
#[derive(Default)]
pub struct ZipStream {
    entries: Vec<Entry>,
    offset: u32,
    open: Option<Entry>,
}

/// General-purpose flags: sizes follow in a data descriptor; names are UTF-8.
const FLAGS: u16 = 0x0008 | 0x0800;
/// 1980-01-01 00:00 in DOS time (the format's epoch; readers ignore it here).
const DOS_DATE: u16 = 0x0021;

impl ZipStream {
    pub fn new() -> Self {
        Self::default()
    }

    fn advance(&mut self, bytes: &[u8]) {
        self.offset = self.offset.wrapping_add(bytes.len() as u32);
    }

    /// Start an entry named `name` (ends an entry left open).
    pub fn start(&mut self, name: &str) -> Vec<u8> {
        let mut out = self.end();
        let mut header = Vec::with_capacity(30 + name.len());
        header.extend(0x0403_4b50u32.to_le_bytes());
        header.extend(20u16.to_le_bytes()); // version needed
        header.extend(FLAGS.to_le_bytes());
        header.extend(0u16.to_le_bytes()); // stored
        header.extend(0u16.to_le_bytes()); // time
        header.extend(DOS_DATE.to_le_bytes());
        header.extend([0u8; 12]); // crc and sizes: in the descriptor
        header.extend((name.len() as u16).to_le_bytes());
        header.extend(0u16.to_le_bytes()); // extra
        header.extend(name.as_bytes());
        self.open = Some(Entry {
            name: name.to_owned(),
            crc: 0,
            size: 0,
            offset: self.offset,
        });
        self.advance(&header);
        out.extend(header);
        out
    }

    /// More of the open entry's content.
    pub fn data(&mut self, bytes: &[u8]) -> Vec<u8> {
        if let Some(e) = self.open.as_mut() {
            e.crc = crc32(e.crc, bytes);
            e.size = e.size.wrapping_add(bytes.len() as u32);
        }
        self.advance(bytes);
        bytes.to_vec()
    }

    /// A whole entry at once.
    pub fn file(&mut self, name: &str, bytes: &[u8]) -> Vec<u8> {
        let mut out = self.start(name);
        out.extend(self.data(bytes));
        out.extend(self.end());
        out
    }

    /// End the open entry: its data descriptor.
    pub fn end(&mut self) -> Vec<u8> {
        let Some(e) = self.open.take() else { return Vec::new() };
        let mut out = Vec::with_capacity(16);
        out.extend(0x0807_4b50u32.to_le_bytes());
        out.extend(e.crc.to_le_bytes());
        out.extend(e.size.to_le_bytes());
        out.extend(e.size.to_le_bytes());
        self.advance(&out);
        self.entries.push(e);
        out
    }

    /// The central directory: the archive's end.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = self.end();
        let start = self.offset;
        let mut directory = Vec::new();
        for e in &self.entries {
            directory.extend(0x0201_4b50u32.to_le_bytes());
            directory.extend(20u16.to_le_bytes()); // made by
            directory.extend(20u16.to_le_bytes()); // needed
            directory.extend(FLAGS.to_le_bytes());
            directory.extend(0u16.to_le_bytes());
            directory.extend(0u16.to_le_bytes());
            directory.extend(DOS_DATE.to_le_bytes());
            directory.extend(e.crc.to_le_bytes());
            directory.extend(e.size.to_le_bytes());
            directory.extend(e.size.to_le_bytes());
            directory.extend((e.name.len() as u16).to_le_bytes());
            directory.extend([0u8; 8]); // extra, comment, disk, internal attributes
            directory.extend(0u32.to_le_bytes()); // external attributes
            directory.extend(e.offset.to_le_bytes());
            directory.extend(e.name.as_bytes());
        }
        let count = self.entries.len() as u16;
        out.extend(&directory);
        out.extend(0x0605_4b50u32.to_le_bytes());
        out.extend([0u8; 4]); // disk numbers
        out.extend(count.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend((directory.len() as u32).to_le_bytes());
        out.extend(start.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(crc32(0, b"12345"), b"6789"), 0xCBF4_3926);
    }

    #[test]
    fn an_archive_ends_with_a_directory_naming_every_entry() {
        let mut zip = ZipStream::new();
        let mut bytes = zip.file("a.txt", b"hello");
        bytes.extend(zip.start("b/c.txt"));
        bytes.extend(zip.data(b"wor"));
        bytes.extend(zip.data(b"ld"));
        bytes.extend(zip.finish());
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        let end = &bytes[bytes.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
        let directory_at = u32::from_le_bytes(end[16..20].try_into().unwrap()) as usize;
        assert_eq!(&bytes[directory_at..directory_at + 4], b"PK\x01\x02");
    }
}
