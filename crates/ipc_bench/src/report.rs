//! The results: a table for people, JSON for machines, an SVG chart for the eyes.

use std::fmt::Write as _;

/// The median, fastest and slowest of the repeats of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    pub fn of(mut values: Vec<f64>) -> Stat {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Stat {
            median,
            min: values[0],
            max: values[n - 1],
        }
    }
}

/// One row of a table: a transport, and per column (message size) its figures, if measured.
#[derive(Debug)]
pub struct Row {
    pub name: &'static str,
    pub cells: Vec<Option<Stat>>,
}

/// A table: the limit row first, then the transports; each cell also shows its ratio to the
/// limit row's cell in the same column.
#[derive(Debug)]
pub struct Table {
    pub title: &'static str,
    pub unit: &'static str,
    pub sizes: Vec<usize>,
    pub rows: Vec<Row>,
}

impl Table {
    fn ratio(&self, row: &Row, col: usize) -> Option<f64> {
        let limit = self.rows.first()?.cells[col]?.median;
        let value = row.cells[col]?.median;
        Some(value / limit)
    }

    /// The text table.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.title);
        let _ = write!(out, "{:<30}", "transport");
        for &size in &self.sizes {
            let _ = write!(out, "{:>32}", size_name(size));
        }
        out.push('\n');
        for (i, row) in self.rows.iter().enumerate() {
            let _ = write!(out, "{:<30}", row.name);
            for (col, cell) in row.cells.iter().enumerate() {
                let text = match cell {
                    None => "-".to_owned(),
                    Some(s) => {
                        let figures = format!("{} [{}-{}]", num(s.median), num(s.min), num(s.max));
                        match self.ratio(row, col) {
                            Some(r) if i > 0 => format!("{figures} {r:.2}x"),
                            _ => figures,
                        }
                    }
                };
                let _ = write!(out, "{text:>32}");
            }
            out.push('\n');
        }
        out
    }

    /// The table as a JSON array.
    pub fn json(&self, key: &str) -> String {
        let mut items = Vec::new();
        for row in &self.rows {
            for (col, cell) in row.cells.iter().enumerate() {
                let Some(s) = cell else { continue };
                let ratio = self
                    .ratio(row, col)
                    .map_or("null".to_owned(), |r| format!("{r:.4}"));
                items.push(format!(
                    "{{\"transport\": \"{}\", \"msg_bytes\": {}, \"{key}\": {{\"median\": {:.4}, \"min\": {:.4}, \"max\": {:.4}}}, \"ratio_to_limit\": {ratio}}}",
                    row.name, self.sizes[col], s.median, s.min, s.max
                ));
            }
        }
        format!("[\n    {}\n  ]", items.join(",\n    "))
    }

    /// A horizontal bar chart, one group of bars per message size.
    pub fn svg(&self, y0: f64, out: &mut String) -> f64 {
        const LABEL: f64 = 230.0;
        const WIDTH: f64 = 560.0;
        const BAR: f64 = 14.0;
        let mut y = y0;
        let _ = writeln!(
            out,
            r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
            y + 14.0,
            escape(self.title)
        );
        y += 26.0;
        for (col, &size) in self.sizes.iter().enumerate() {
            let max = self
                .rows
                .iter()
                .filter_map(|r| r.cells[col])
                .map(|s| s.max)
                .fold(0.0, f64::max);
            let _ = writeln!(
                out,
                r#"<text x="10" y="{}" font-style="italic">{}</text>"#,
                y + 12.0,
                size_name(size)
            );
            y += 18.0;
            for (i, row) in self.rows.iter().enumerate() {
                let _ = writeln!(
                    out,
                    r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                    LABEL - 6.0,
                    y + 11.0,
                    escape(row.name)
                );
                if let Some(s) = row.cells[col] {
                    let w = if max > 0.0 {
                        s.median / max * WIDTH
                    } else {
                        0.0
                    };
                    let color = if i == 0 { "#888" } else { "#4477aa" };
                    let _ = writeln!(
                        out,
                        r#"<rect x="{LABEL}" y="{y}" width="{w:.1}" height="{BAR}" fill="{color}"/>"#
                    );
                    let _ = writeln!(
                        out,
                        r#"<text x="{:.1}" y="{}">{} {}</text>"#,
                        LABEL + w + 4.0,
                        y + 11.0,
                        num(s.median),
                        self.unit
                    );
                }
                y += BAR + 4.0;
            }
            y += 8.0;
        }
        y
    }
}

/// The whole chart for the tables.
pub fn svg(tables: &[&Table]) -> String {
    let mut body = String::new();
    let mut y = 10.0;
    for table in tables {
        y = table.svg(y, &mut body) + 10.0;
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"{y:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
    )
}

pub fn size_name(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = Stat::of(vec![3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Stat::of(vec![4.0, 1.0, 2.0, 3.0]).median, 2.5);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size_name(8), "8 B");
        assert_eq!(size_name(4096), "4 KiB");
        assert_eq!(size_name(1 << 20), "1 MiB");
    }
}
