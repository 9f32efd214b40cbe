//! Media files for tests, generated rather than checked in.

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut typed = kind.to_vec();
    typed.extend_from_slice(data);
    out.extend_from_slice(&typed);
    out.extend_from_slice(&crc32(&typed).to_be_bytes());
}

/// A valid RGB PNG of `width`×`height` (zlib "stored" blocks, so no
/// compressor is needed), padded with a private ancillary chunk of
/// `padding` bytes that decoders skip.
pub fn png(width: u32, height: u32, padding: usize) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&[(x * 40) as u8, (y * 40) as u8, 200]);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i == blocks.len() - 1));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    if padding > 0 {
        chunk(&mut out, b"prVt", &vec![0x5A; padding]);
    }
    chunk(&mut out, b"IEND", &[]);
    out
}

/// `png` with a `tEXt` chunk (`keyword`, `text`) after its header, as
/// cameras and editors leave metadata in a file.
pub fn with_text(png: &[u8], keyword: &str, text: &str) -> Vec<u8> {
    // Signature (8) and IHDR (length, type, 13 bytes of data, CRC).
    let header_end = 8 + 4 + 4 + 13 + 4;
    let mut out = png[..header_end].to_vec();
    chunk(
        &mut out,
        b"tEXt",
        &[keyword.as_bytes(), b"\0", text.as_bytes()].concat(),
    );
    out.extend_from_slice(&png[header_end..]);
    out
}
