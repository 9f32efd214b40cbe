//! What a file is, decided from its first bytes, never from its name or
//! the type its sender claimed. Only types a support inbox needs and that
//! a browser cannot run are allowed: HTML, SVG, XML, scripts, executables
//! and anything unrecognised are refused.

use crate::model::AttachmentKind;

/// How many leading bytes [`sniff`] wants to see (fewer when the file is
/// shorter).
pub const SNIFF_LEN: usize = 4096;

/// The allowed type of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: &'static str,
    pub kind: AttachmentKind,
    /// Pixels, when the image header gives them.
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl Sniffed {
    const fn new(mime: &'static str, kind: AttachmentKind) -> Self {
        Self {
            mime,
            kind,
            width: None,
            height: None,
        }
    }

    fn sized(mut self, size: Option<(u32, u32)>) -> Self {
        if let Some((w, h)) = size {
            self.width = Some(w);
            self.height = Some(h);
        }
        self
    }

    /// Text whose whole content must stay valid UTF-8 without NULs (see
    /// [`TextCheck`]).
    pub fn is_text(&self) -> bool {
        self.mime.starts_with("text/")
    }
}

/// Why a file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the file is empty")]
    Empty,
    #[error("this file is HTML, which is not allowed; {ALLOWED}")]
    Html,
    #[error("this file is SVG, which is not allowed; {ALLOWED}")]
    Svg,
    #[error("this file is XML, which is not allowed; {ALLOWED}")]
    Xml,
    #[error("this file is a script, which is not allowed; {ALLOWED}")]
    Script,
    #[error("this file is a program, which is not allowed; {ALLOWED}")]
    Executable,
    #[error("this type of file is not allowed; {ALLOWED}")]
    Unknown,
}

/// The sentence every refusal ends with.
pub const ALLOWED: &str = "allowed are images (PNG, JPEG, GIF, WebP), video (MP4, QuickTime, WebM), audio (MP3, AAC, \
                           OGG, WAV, FLAC, M4A, AMR) and documents (PDF, plain text, CSV, Office and OpenDocument \
                           files, ZIP)";

pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
pub const TEXT_CSV: &str = "text/csv; charset=utf-8";

/// Image types a browser may show inline from our origin (they cannot run
/// script). Everything else is served as a download.
pub fn is_inline_image(mime: &str) -> bool {
    matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// Every type [`sniff`] can return (plus CSV): what may be served with its
/// own `Content-Type`. Anything else is served as
/// `application/octet-stream`.
pub fn is_known(mime: &str) -> bool {
    matches!(
        mime,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "audio/wav"
            | "video/quicktime"
            | "audio/mp4"
            | "video/3gpp"
            | "video/mp4"
            | "video/webm"
            | "video/x-matroska"
            | "video/ogg"
            | "audio/ogg"
            | "audio/mpeg"
            | "audio/aac"
            | "audio/flac"
            | "audio/amr"
            | "application/pdf"
            | "application/zip"
            | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            | "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            | "application/vnd.oasis.opendocument.text"
            | "application/vnd.oasis.opendocument.spreadsheet"
            | "application/vnd.oasis.opendocument.presentation"
            | TEXT_PLAIN
            | TEXT_CSV
    )
}

/// Decide what `head` (the first [`SNIFF_LEN`] bytes of a file, or all of
/// a shorter one) is.
pub fn sniff(head: &[u8]) -> Result<Sniffed, Refused> {
    use AttachmentKind::*;
    if head.is_empty() {
        return Err(Refused::Empty);
    }
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);

    // Images.
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return Ok(Sniffed::new("image/png", Image).sized(png_size(head)));
    }
    if at(0, b"\xFF\xD8\xFF") {
        return Ok(Sniffed::new("image/jpeg", Image).sized(jpeg_size(head)));
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return Ok(Sniffed::new("image/gif", Image).sized(gif_size(head)));
    }
    if at(0, b"RIFF") && at(8, b"WEBP") {
        return Ok(Sniffed::new("image/webp", Image).sized(webp_size(head)));
    }
    // Audio and video containers.
    if at(0, b"RIFF") && at(8, b"WAVE") {
        return Ok(Sniffed::new("audio/wav", Audio));
    }
    if at(4, b"ftyp") {
        let brand = head.get(8..12).unwrap_or_default();
        return Ok(match brand {
            b"qt  " => Sniffed::new("video/quicktime", Video),
            b"M4A " | b"M4B " | b"M4P " | b"F4A " | b"F4B " => Sniffed::new("audio/mp4", Audio),
            b"3gp4" | b"3gp5" | b"3gp6" | b"3gp7" | b"3ge6" | b"3ge7" | b"3gg6" => Sniffed::new("video/3gpp", Video),
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"avif" | b"avis" => return Err(Refused::Unknown),
            _ => Sniffed::new("video/mp4", Video),
        });
    }
    if at(4, b"moov") || at(4, b"mdat") || at(4, b"wide") {
        return Ok(Sniffed::new("video/quicktime", Video));
    }
    if at(0, b"\x1A\x45\xDF\xA3") {
        let webm = head.windows(4).any(|w| w == b"webm");
        return Ok(if webm {
            Sniffed::new("video/webm", Video)
        } else {
            Sniffed::new("video/x-matroska", Video)
        });
    }
    if at(0, b"OggS") {
        let theora = head.windows(7).any(|w| w == b"\x80theora");
        return Ok(if theora {
            Sniffed::new("video/ogg", Video)
        } else {
            Sniffed::new("audio/ogg", Audio)
        });
    }
    if at(0, b"ID3") || is_mp3_frame(head) {
        return Ok(Sniffed::new("audio/mpeg", Audio));
    }
    if is_adts_frame(head) {
        return Ok(Sniffed::new("audio/aac", Audio));
    }
    if at(0, b"fLaC") {
        return Ok(Sniffed::new("audio/flac", Audio));
    }
    if at(0, b"#!AMR\n") {
        return Ok(Sniffed::new("audio/amr", Audio));
    }
    // Documents.
    if at(0, b"%PDF-") {
        return Ok(Sniffed::new("application/pdf", Document));
    }
    if at(0, b"PK\x03\x04") {
        return Ok(Sniffed::new(zip_type(head), Document));
    }
    // Programs.
    if at(0, b"\x7FELF")
        || at(0, b"MZ")
        || at(0, b"\xCA\xFE\xBA\xBE")
        || at(0, b"\xFE\xED\xFA\xCE")
        || at(0, b"\xFE\xED\xFA\xCF")
        || at(0, b"\xCE\xFA\xED\xFE")
        || at(0, b"\xCF\xFA\xED\xFE")
        || at(0, b"\0asm")
    {
        return Err(Refused::Executable);
    }
    text(head)
}

/// Plain text: UTF-8 (a character cut by the end of `head` is fine), no NUL,
/// and nothing a browser would treat as markup or code.
fn text(head: &[u8]) -> Result<Sniffed, Refused> {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // Only an incomplete character at the very end is allowed.
        Err(e) if e.error_len().is_none() && head.len() - e.valid_up_to() < 4 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Err(Refused::Unknown),
    };
    if valid.contains('\0') {
        return Err(Refused::Unknown);
    }
    if valid.is_empty() {
        return Err(Refused::Unknown);
    }
    let body = valid.trim_start_matches('\u{FEFF}').trim_start();
    let lower = valid.to_ascii_lowercase();
    let starts = |p: &str| body.len() >= p.len() && body.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    if starts("<?xml") {
        return Err(if lower.contains("<svg") {
            Refused::Svg
        } else {
            Refused::Xml
        });
    }
    if lower.contains("<svg") {
        return Err(Refused::Svg);
    }
    if body.starts_with('<')
        || [
            "<!doctype",
            "<html",
            "<script",
            "<iframe",
            "<body",
            "<head",
            "<object",
            "<embed",
            "<meta",
        ]
        .iter()
        .any(|tag| lower.contains(tag))
    {
        return Err(Refused::Html);
    }
    if body.starts_with("#!") || looks_like_javascript(body) {
        return Err(Refused::Script);
    }
    Ok(Sniffed::new(TEXT_PLAIN, AttachmentKind::Document))
}

/// Text that opens the way JavaScript source usually does. A heuristic:
/// text is served as `text/plain` with `nosniff`, which a browser will not
/// run as script anyway; this only turns obvious code away early.
fn looks_like_javascript(body: &str) -> bool {
    const OPENINGS: &[&str] = &[
        "\"use strict\"",
        "'use strict'",
        "(function",
        "!function",
        "function(",
        "async function",
        "module.exports",
        "require(",
        "window.",
        "document.",
        "//# sourceMappingURL",
        "import {",
        "import *",
        "export default",
        "export function",
        "export const",
        "export {",
    ];
    if OPENINGS.iter().any(|o| body.starts_with(o)) {
        return true;
    }
    let ident_then = |rest: &str, next: char| {
        let rest = rest.trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(rest.len());
        end > 0 && rest[end..].trim_start().starts_with(next)
    };
    // `var x =`, `let x =`, `const x =`, `function name(`.
    ["var ", "let ", "const "]
        .iter()
        .any(|k| body.strip_prefix(k).is_some_and(|r| ident_then(r, '=')))
        || body.strip_prefix("function ").is_some_and(|r| ident_then(r, '('))
}

fn is_mp3_frame(h: &[u8]) -> bool {
    // Frame sync, MPEG version not reserved, layer III, bitrate not "bad".
    h.len() >= 3
        && h[0] == 0xFF
        && h[1] & 0xE0 == 0xE0
        && (h[1] >> 3) & 3 != 1
        && (h[1] >> 1) & 3 == 1
        && h[2] >> 4 != 0xF
}

fn is_adts_frame(h: &[u8]) -> bool {
    // Sync word, layer 00, sampling index not reserved.
    h.len() >= 3 && h[0] == 0xFF && h[1] & 0xF6 == 0xF0 && (h[2] >> 2) & 0xF < 13
}

/// ZIP-based documents: Office Open XML and OpenDocument by their marker
/// entries, other archives as plain ZIP.
fn zip_type(head: &[u8]) -> &'static str {
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    // OpenDocument puts an uncompressed `mimetype` entry first.
    if head.get(30..38) == Some(b"mimetype") {
        for (marker, mime) in [
            (
                &b"application/vnd.oasis.opendocument.text"[..],
                "application/vnd.oasis.opendocument.text",
            ),
            (
                b"application/vnd.oasis.opendocument.spreadsheet",
                "application/vnd.oasis.opendocument.spreadsheet",
            ),
            (
                b"application/vnd.oasis.opendocument.presentation",
                "application/vnd.oasis.opendocument.presentation",
            ),
        ] {
            if has(marker) {
                return mime;
            }
        }
    }
    if has(b"word/") {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    } else if has(b"xl/") {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else if has(b"ppt/") {
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    } else {
        "application/zip"
    }
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?)))
}
fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?)))
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn png_size(h: &[u8]) -> Option<(u32, u32)> {
    (h.get(12..16)? == b"IHDR").then_some(())?;
    Some((be32(h, 16)?, be32(h, 20)?))
}

fn gif_size(h: &[u8]) -> Option<(u32, u32)> {
    Some((le16(h, 6)?, le16(h, 8)?))
}

fn webp_size(h: &[u8]) -> Option<(u32, u32)> {
    match h.get(12..16)? {
        b"VP8 " => Some((le16(h, 26)? & 0x3FFF, le16(h, 28)? & 0x3FFF)),
        b"VP8L" => {
            let b = h.get(21..25)?;
            let bits = u32::from_le_bytes(b.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(h, 24)? + 1, le24(h, 27)? + 1)),
        _ => None,
    }
}

/// The first start-of-frame marker within `h`, if it is there.
fn jpeg_size(h: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= h.len() {
        if h[i] != 0xFF {
            return None;
        }
        let marker = h[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = be16(h, i + 2)? as usize;
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            return Some((be16(h, i + 7)?, be16(h, i + 5)?));
        }
        i += 2 + len;
    }
    None
}

/// Checks a text file beyond its first bytes: the whole content must stay
/// UTF-8 without NUL. Feed it the chunks in order, then call
/// [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct TextCheck {
    /// Bytes of a character cut by the end of the previous chunk.
    carry: Vec<u8>,
    bad: bool,
}

impl TextCheck {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether everything so far is fine.
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        if self.bad {
            return false;
        }
        let mut rest = chunk;
        if !self.carry.is_empty() {
            // Complete the cut character with at most 3 more bytes.
            let take = rest.len().min(4 - self.carry.len());
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(&rest[..take]);
            match std::str::from_utf8(&joined) {
                Ok(_) => rest = &rest[take..],
                Err(e) if e.valid_up_to() > 0 => {
                    // The first character is complete; continue after it.
                    let used = e.valid_up_to() - (joined.len() - take);
                    rest = &rest[used..];
                }
                Err(e) if e.error_len().is_none() => {
                    self.carry = joined;
                    return true;
                }
                Err(_) => {
                    self.bad = true;
                    return false;
                }
            }
        }
        match std::str::from_utf8(rest) {
            Ok(s) => self.bad = s.contains('\0'),
            Err(e) if e.error_len().is_none() => {
                let (ok, cut) = rest.split_at(e.valid_up_to());
                self.bad = ok.contains(&0);
                self.carry = cut.to_vec();
            }
            Err(_) => self.bad = true,
        }
        !self.bad
    }

    /// Whether the whole content was fine (no character left cut).
    pub fn finish(&self) -> bool {
        !self.bad && self.carry.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttachmentKind::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend_from_slice(&width.to_be_bytes());
        v.extend_from_slice(&height.to_be_bytes());
        v.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    fn kind_of(bytes: &[u8]) -> (&'static str, AttachmentKind) {
        let s = sniff(bytes).unwrap_or_else(|e| panic!("{bytes:?}: {e}"));
        assert!(is_known(s.mime), "{} is listed in is_known", s.mime);
        (s.mime, s.kind)
    }

    #[test]
    fn images_with_their_sizes() {
        let s = sniff(&png(640, 480)).unwrap();
        assert_eq!(
            (s.mime, s.kind, s.width, s.height),
            ("image/png", Image, Some(640), Some(480))
        );
        let gif = b"GIF89a\x40\x01\xF0\x00\x00\x00\x00";
        let s = sniff(gif).unwrap();
        assert_eq!((s.mime, s.width, s.height), ("image/gif", Some(320), Some(240)));
        // JPEG: SOI, an APP0 segment, then SOF0 with 200x100.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x64, 0x00, 0xC8, 0x03]);
        let s = sniff(&jpeg).unwrap();
        assert_eq!((s.mime, s.width, s.height), ("image/jpeg", Some(200), Some(100)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0x7F, 0x02, 0x00, 0xDF, 0x01, 0x00]);
        let s = sniff(&webp).unwrap();
        assert_eq!((s.mime, s.width, s.height), ("image/webp", Some(640), Some(480)));
    }

    #[test]
    fn audio_and_video() {
        assert_eq!(kind_of(b"\0\0\0\x18ftypisom\0\0\x02\0"), ("video/mp4", Video));
        assert_eq!(kind_of(b"\0\0\0\x14ftypqt  \0\0\0\0"), ("video/quicktime", Video));
        assert_eq!(kind_of(b"\0\0\0\x20ftypM4A \0\0\0\0"), ("audio/mp4", Audio));
        assert_eq!(
            kind_of(b"\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\x82\x84webm"),
            ("video/webm", Video)
        );
        assert_eq!(
            kind_of(b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\x13OpusHead"),
            ("audio/ogg", Audio)
        );
        assert_eq!(kind_of(b"RIFF\x24\0\0\0WAVEfmt "), ("audio/wav", Audio));
        assert_eq!(kind_of(b"ID3\x04\0\0\0\0\0\0"), ("audio/mpeg", Audio));
        assert_eq!(kind_of(&[0xFF, 0xFB, 0x90, 0x64]), ("audio/mpeg", Audio));
        assert_eq!(kind_of(&[0xFF, 0xF1, 0x50, 0x80]), ("audio/aac", Audio));
    }

    #[test]
    fn documents() {
        assert_eq!(kind_of(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3"), ("application/pdf", Document));
        let mut docx = b"PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0".to_vec();
        docx.extend_from_slice(b"[Content_Types].xml....PK\x03\x04....word/document.xml");
        assert_eq!(
            kind_of(&docx),
            (
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                Document
            )
        );
        let mut xlsx = b"PK\x03\x04\x14\0\x06\0".to_vec();
        xlsx.extend_from_slice(b"[Content_Types].xml....xl/workbook.xml");
        assert_eq!(
            kind_of(&xlsx).0,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(kind_of(b"PK\x03\x04\x14\0\0\0notes.txt").0, "application/zip");
        let mut odt = b"PK\x03\x04\x0a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        odt.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.text");
        assert_eq!(kind_of(&odt).0, "application/vnd.oasis.opendocument.text");
        assert_eq!(kind_of(b"order,total\n1001,25.00\n"), (TEXT_PLAIN, Document));
        assert_eq!(kind_of("Olá, tudo bem? 😀".as_bytes()), (TEXT_PLAIN, Document));
        // A character cut by the end of the sniffed head is fine.
        assert_eq!(kind_of(&"ab😀".as_bytes()[..4]), (TEXT_PLAIN, Document));
        assert!(sniff(b"2 < 3 and 4 > 1").is_ok(), "a lone < is not markup");
        assert!(sniff(b"let me know when it ships").is_ok(), "prose is not code");
        assert!(sniff(b"function of the app: search").is_ok());
    }

    #[test]
    fn markup_scripts_and_programs_are_refused() {
        // The acceptance case: HTML named .png. The name never reaches sniff.
        assert_eq!(
            sniff(b"<!DOCTYPE html><html><script>alert(1)</script>"),
            Err(Refused::Html)
        );
        assert_eq!(sniff(b"\n\n  <html><body>hi</body></html>"), Err(Refused::Html));
        assert_eq!(sniff(b"\xEF\xBB\xBF<p>hi"), Err(Refused::Html));
        assert_eq!(sniff(b"hello\n<script src=//evil></script>"), Err(Refused::Html));
        assert_eq!(
            sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"),
            Err(Refused::Svg)
        );
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg/>"), Err(Refused::Svg));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><note/>"), Err(Refused::Xml));
        assert_eq!(sniff(b"  function x() { fetch('/api') }"), Err(Refused::Script));
        assert_eq!(sniff(b"'use strict';\nwindow.x = 1"), Err(Refused::Script));
        assert_eq!(sniff(b"const token = document.cookie"), Err(Refused::Script));
        assert_eq!(sniff(b"#!/bin/sh\nrm -rf /"), Err(Refused::Script));
        assert_eq!(sniff(b"\x7FELF\x02\x01\x01\0"), Err(Refused::Executable));
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), Err(Refused::Executable));
        assert_eq!(sniff(b"\0asm\x01\0\0\0"), Err(Refused::Executable));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic"), Err(Refused::Unknown));
        assert_eq!(sniff(b"binary\0with nul"), Err(Refused::Unknown));
        assert_eq!(sniff(&[0xC3, 0x28, 0x41]), Err(Refused::Unknown), "invalid UTF-8");
        assert_eq!(sniff(b""), Err(Refused::Empty));
        assert!(Refused::Html.to_string().contains("allowed are images"));
    }

    #[test]
    fn only_raster_images_are_inline() {
        assert!(is_inline_image("image/png") && is_inline_image("image/webp"));
        for mime in ["image/svg+xml", "text/html", TEXT_PLAIN, "application/pdf", "video/mp4"] {
            assert!(!is_inline_image(mime), "{mime}");
        }
        for mime in [
            "image/svg+xml",
            "text/html",
            "text/javascript",
            "application/xml",
            "application/octet-stream",
        ] {
            assert!(!is_known(mime), "{mime}");
        }
    }

    #[test]
    fn text_check_follows_characters_across_chunks() {
        let text = "ação 😀 ok".as_bytes();
        for split in 0..=text.len() {
            let mut check = TextCheck::new();
            assert!(
                check.feed(&text[..split]) && check.feed(&text[split..]),
                "split at {split}"
            );
            assert!(check.finish(), "split at {split}");
        }
        // One byte at a time.
        let mut check = TextCheck::new();
        assert!(text.iter().all(|b| check.feed(&[*b])) && check.finish());
        let mut check = TextCheck::new();
        assert!(check.feed(b"fine so far") && !check.feed(b"then a \0 byte") && !check.finish());
        let mut check = TextCheck::new();
        assert!(!check.feed(&[b'a', 0xC3, 0x28]));
        let mut check = TextCheck::new();
        assert!(check.feed(&"😀".as_bytes()[..2]) && !check.finish(), "cut at the end");
    }
}
