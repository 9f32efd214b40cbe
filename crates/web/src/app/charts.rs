//! Charts drawn on the server as SVG: bars and a weekday × hour heatmap.
//! Each has a `<title>` and a `<desc>` for screen readers, and the page
//! shows its numbers in a table beside it. Every text is escaped here,
//! since the templates insert the SVG as it is.

use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 12.0;

/// Text safe inside SVG.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A round number at or above `max` for the top of the scale.
fn scale_top(max: u64) -> u64 {
    if max <= 5 {
        return max.max(1);
    }
    let magnitude = 10u64.pow((max as f64).log10().floor() as u32);
    [1, 2, 5, 10]
        .iter()
        .map(|m| m * magnitude)
        .find(|top| *top >= max)
        .unwrap_or(max)
}

fn open(id: &str, title: &str, desc: &str) -> String {
    format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    )
}

/// Bars of one or more series per label (`series` names them, in the
/// order of each label's values), with a y axis from 0.
pub fn bars(id: &str, title: &str, series: &[&str], data: &[(String, Vec<u64>)]) -> String {
    let max = data.iter().flat_map(|(_, v)| v.iter().copied()).max().unwrap_or(0);
    let top = scale_top(max);
    let desc = format!(
        "{} values per label for {}; highest {max}. The table below lists them.",
        series.join(" and "),
        data.len()
    );
    let mut svg = open(id, title, &desc);
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    // Axis and two grid lines.
    for frac in [0.0, 0.5, 1.0] {
        let y = TOP + plot_h * (1.0 - frac);
        let value = (top as f64 * frac).round() as u64;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{value}</text>"#,
            WIDTH - 8.0,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let n = data.len().max(1) as f64;
    let slot = plot_w / n;
    let per = series.len().max(1) as f64;
    let bar_w = (slot * 0.8 / per).max(1.0);
    // Label every k-th slot so labels never overlap.
    let every = ((n * 40.0 / plot_w).ceil() as usize).max(1);
    for (i, (label, values)) in data.iter().enumerate() {
        let x0 = LEFT + slot * i as f64 + slot * 0.1;
        for (s, v) in values.iter().enumerate() {
            let h = plot_h * (*v as f64) / top as f64;
            let _ = write!(
                svg,
                r#"<rect class="series-{s}" x="{:.1}" y="{:.1}" width="{bar_w:.1}" height="{h:.1}"><title>{}: {} {v}</title></rect>"#,
                x0 + bar_w * s as f64,
                TOP + plot_h - h,
                esc(label),
                esc(series.get(s).copied().unwrap_or(""))
            );
        }
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x0 + slot * 0.4,
                HEIGHT - BOTTOM + 16.0,
                esc(label)
            );
        }
    }
    if series.len() > 1 {
        for (s, name) in series.iter().enumerate() {
            let x = LEFT + 8.0 + 110.0 * s as f64;
            let _ = write!(
                svg,
                r#"<rect class="series-{s}" x="{x}" y="{}" width="10" height="10"/><text class="axis" x="{}" y="{}">{}</text>"#,
                HEIGHT - 14.0,
                x + 14.0,
                HEIGHT - 5.0,
                esc(name)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Weekday × hour cells, darker for more.
pub fn heatmap(id: &str, title: &str, cells: &[[u64; 24]; 7]) -> String {
    let max = cells.iter().flatten().copied().max().unwrap_or(0);
    let desc =
        format!("Conversations by weekday and local hour; the busiest cell has {max}. The table below lists them.");
    let mut svg = open(id, title, &desc);
    let (cell_w, cell_h) = ((WIDTH - LEFT - 8.0) / 24.0, (HEIGHT - TOP - BOTTOM) / 7.0);
    for (d, row) in cells.iter().enumerate() {
        let y = TOP + cell_h * d as f64;
        let _ = write!(
            svg,
            r#"<text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y + cell_h * 0.7,
            WEEKDAYS[d]
        );
        for (h, v) in row.iter().enumerate() {
            let level = if max == 0 { 0.0 } else { *v as f64 / max as f64 };
            let _ = write!(
                svg,
                r#"<rect class="heat" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill-opacity="{:.2}"><title>{} {h:02}:00: {v}</title></rect>"#,
                LEFT + cell_w * h as f64,
                cell_w - 1.0,
                cell_h - 1.0,
                0.06 + 0.94 * level,
                WEEKDAYS[d]
            );
        }
    }
    for h in (0..24).step_by(3) {
        let _ = write!(
            svg,
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{h:02}</text>"#,
            LEFT + cell_w * (h as f64 + 0.5),
            HEIGHT - BOTTOM + 16.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_a_round_top() {
        let svg = bars(
            "x",
            "A <b> chart",
            &["created"],
            &[("<script>".into(), vec![3]), ("b".into(), vec![7])],
        );
        assert!(svg.contains("A &lt;b&gt; chart"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains(r#"<title id="x-t">"#));
        assert_eq!(scale_top(7), 10);
        assert_eq!(scale_top(130), 200);
        assert_eq!(scale_top(0), 1);
    }

    #[test]
    fn heatmap_has_a_cell_per_weekday_and_hour() {
        let mut cells = [[0; 24]; 7];
        cells[0][9] = 4;
        let svg = heatmap("h", "Busiest hours", &cells);
        assert_eq!(svg.matches(r#"class="heat""#).count(), 7 * 24);
        assert!(svg.contains("Mon 09:00: 4"));
    }
}
