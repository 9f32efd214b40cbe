//! A small PDF writer for the printed report: A4 pages of text lines,
//! tables and bar charts in the standard Helvetica fonts (WinAnsi text, so
//! no font files are embedded). Pages break by themselves.

use std::fmt::Write;

const PAGE_W: f64 = 595.0;
const PAGE_H: f64 = 842.0;
const MARGIN: f64 = 48.0;

/// One byte of Windows-1252 for `c` (what the standard fonts encode);
/// `?` for what it cannot hold.
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '…' => 0x85,
        _ => b'?',
    }
}

/// A PDF string literal of `text`.
fn literal(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for b in text.chars().map(win_ansi) {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

/// Helvetica's width of `text` at `size`, roughly (for fitting cells).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.52
}

fn fit(text: &str, width: f64, size: f64) -> String {
    if text_width(text, size) <= width {
        return text.to_owned();
    }
    let keep = ((width / (size * 0.52)) as usize).saturating_sub(1);
    let mut cut: String = text.chars().take(keep).collect();
    cut.push('…');
    cut
}

#[derive(Default)]
pub struct Pdf {
    pages: Vec<Vec<u8>>,
    page: Vec<u8>,
    y: f64,
}

impl Pdf {
    pub fn new() -> Self {
        Pdf {
            y: PAGE_H - MARGIN,
            ..Pdf::default()
        }
    }

    fn room(&mut self, height: f64) {
        if self.y - height < MARGIN {
            self.pages.push(std::mem::take(&mut self.page));
            self.y = PAGE_H - MARGIN;
        }
    }

    fn text_at(&mut self, x: f64, y: f64, size: f64, bold: bool, text: &str) {
        let font = if bold { "F2" } else { "F1" };
        let _ = write!(Buf(&mut self.page), "BT /{font} {size} Tf {x:.1} {y:.1} Td ");
        self.page.extend(literal(text));
        self.page.extend(b" Tj ET\n");
    }

    fn write_line(&mut self, text: &str, size: f64, bold: bool) {
        self.room(size * 1.5);
        self.y -= size * 1.5;
        let y = self.y;
        self.text_at(MARGIN, y, size, bold, text);
    }

    pub fn title(&mut self, text: &str) {
        self.write_line(text, 18.0, true);
        self.y -= 4.0;
    }

    pub fn heading(&mut self, text: &str) {
        self.y -= 8.0;
        self.room(40.0);
        self.write_line(text, 12.0, true);
    }

    pub fn line(&mut self, text: &str) {
        self.write_line(text, 10.0, false);
    }

    /// Columns of equal width; the header row in bold.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        let width = (PAGE_W - 2.0 * MARGIN) / header.len().max(1) as f64;
        let size = if header.len() > 6 { 7.5 } else { 9.0 };
        let row_out = |pdf: &mut Pdf, cells: &[String], bold: bool| {
            pdf.room(size * 1.6);
            pdf.y -= size * 1.6;
            let y = pdf.y;
            for (i, cell) in cells.iter().enumerate() {
                let text = fit(cell, width - 4.0, size);
                pdf.text_at(MARGIN + width * i as f64, y, size, bold, &text);
            }
        };
        let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        row_out(self, &head, true);
        for row in rows {
            row_out(self, row, false);
        }
    }

    /// Horizontal bars, one per label, with its value.
    pub fn bars(&mut self, data: &[(String, u64)]) {
        let max = data.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
        let label_w = 90.0;
        let bar_max = PAGE_W - 2.0 * MARGIN - label_w - 40.0;
        for (label, value) in data {
            self.room(12.0);
            self.y -= 12.0;
            let y = self.y;
            self.text_at(MARGIN, y, 8.0, false, &fit(label, label_w - 4.0, 8.0));
            let w = bar_max * (*value as f64) / max;
            let _ = writeln!(
                Buf(&mut self.page),
                "0.16 0.38 0.72 rg {:.1} {:.1} {w:.1} 8 re f 0 g",
                MARGIN + label_w,
                y - 1.0
            );
            self.text_at(MARGIN + label_w + w + 4.0, y, 8.0, false, &value.to_string());
        }
    }

    /// The finished file.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.page.is_empty() || self.pages.is_empty() {
            self.pages.push(std::mem::take(&mut self.page));
        }
        let n = self.pages.len();
        // Objects: 1 catalog, 2 pages, 3–4 fonts, then a page and its content each.
        let mut objects: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {n} >>",
                (0..n)
                    .map(|i| format!("{} 0 R", 5 + 2 * i))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
            .into_bytes(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
        ];
        for (i, content) in self.pages.iter().enumerate() {
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                    6 + 2 * i
                )
                .into_bytes(),
            );
            let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            stream.extend(content);
            stream.extend(b"\nendstream");
            objects.push(stream);
        }
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
            out.extend(body);
            out.extend(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
        for offset in offsets {
            out.extend(format!("{offset:010} 00000 n \n").into_bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .into_bytes(),
        );
        out
    }
}

/// `write!` into a byte buffer.
struct Buf<'a>(&'a mut Vec<u8>);

impl Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_pages_break() {
        let mut pdf = Pdf::new();
        pdf.title("Report (weekly) \\ 1 – ok");
        for i in 0..200 {
            pdf.line(&format!("line {i}"));
        }
        let bytes = pdf.finish();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(r"(Report \(weekly\) \\ 1 "));
        // About 49 lines of 10 pt fit on a page.
        let pages: usize = text
            .split("/Count ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(pages, 5, "200 lines need several pages");
        assert!(text.ends_with("%%EOF\n"));
        // The xref offsets point at the objects.
        let start: usize = text.lines().rev().nth(1).unwrap().parse().unwrap();
        assert!(bytes[start..].starts_with(b"xref"));
    }
}
