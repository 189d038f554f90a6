//! The results: each figure as it is measured (a progress bar on a terminal, a plain line in a
//! file or a pipe), then a table for people, JSON for machines, an SVG chart for the eyes.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write as _};

use common::{Error, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

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

/// What has been measured so far, shown as it happens, since a run takes half a minute or
/// more: on a terminal, a bar (indicatif) with the figure being measured and the last one
/// measured, cleared at the end; otherwise (no terminal, or `TERM=dumb`), when `lines` says
/// so, one plain line per measurement on stdout, in the order measured:
///
/// ```text
/// [ 5/78] warm-up  pipe                          64 KiB  2.87 GiB/s
/// ```
///
/// The bar goes to stderr when that is a terminal (so that `--json > file` still shows it),
/// else to stdout when that is one, else nowhere. It is redrawn at each step, never by a
/// thread of its own (no `enable_steady_tick`): the benchmark forks, and a child must not be
/// the copy of a process with a thread in the middle of a write.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    done: u64,
    total: u64,
    /// The width of the round's label: `warm-up`, `run 1/5`.
    round_width: usize,
    repeats: u32,
    last: String,
}

impl Progress {
    /// `total` measurements, in `repeats` measured rounds after a warm-up; plain lines on
    /// stdout if `lines` and no bar can be shown.
    pub fn new(total: u64, repeats: u32, lines: bool) -> Progress {
        let target = if io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            // Hidden when stdout is not a terminal either.
            ProgressDrawTarget::stdout()
        };
        let bar = (!target.is_hidden()).then(|| {
            let style =
                ProgressStyle::with_template("{elapsed:>4} [{bar:24}] {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            ProgressBar::with_draw_target(Some(total), target).with_style(style)
        });
        Progress {
            // Lines wherever no bar can be drawn (TERM=dumb on a terminal too).
            lines: lines && bar.is_none(),
            bar,
            done: 0,
            total,
            round_width: format!("run {repeats}/{repeats}")
                .len()
                .max("warm-up".len()),
            repeats,
            last: String::new(),
        }
    }

    /// Measures one figure (`round` 0 is the warm-up): `measure` gives it in `unit`s; shows
    /// what is being measured, then the figure.
    pub fn measure(
        &mut self,
        round: u32,
        name: &str,
        size: usize,
        unit: &str,
        measure: impl FnOnce() -> Result<f64>,
    ) -> Result<f64> {
        let round = if round == 0 {
            "warm-up".to_owned()
        } else {
            format!("run {round}/{}", self.repeats)
        };
        let what = format!("{round}: {name}, {}", size_name(size));
        if let Some(bar) = &self.bar {
            let last = if self.last.is_empty() {
                String::new()
            } else {
                format!("   (last: {})", self.last)
            };
            bar.set_message(format!("{what}{last}"));
            bar.force_draw();
        }
        let figure = measure()?;
        self.done += 1;
        self.last = format!("{name}, {}: {} {unit}", size_name(size), num(figure));
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        if self.lines {
            let width = self.total.to_string().len();
            let line = format!(
                "[{:>width$}/{}] {round:<rw$}  {name:<28}  {:>6}  {} {unit}",
                self.done,
                self.total,
                size_name(size),
                num(figure),
                rw = self.round_width,
            );
            print_line(&line)?;
        }
        Ok(figure)
    }

    /// Whether a plain line was printed (then a blank line ends them).
    pub fn printed_lines(&self) -> bool {
        self.lines && self.done > 0
    }
}

impl Drop for Progress {
    /// The bar leaves no trace: the tables, or the error line, take its place.
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Writes `line` to stdout, while SIGPIPE is ignored (it is, while measuring): a reader that
/// has gone ends the run as SIGPIPE would have, silently (`Error::signal`), and any other
/// failure is one line.
pub fn print_line(line: &str) -> Result<()> {
    match writeln!(io::stdout().lock(), "{line}") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Error::signal(libc::SIGPIPE)),
        Err(e) => Err(Error::new("write stdout", e)),
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
    /// Whether the first row is a limit the others are divided by.
    pub limit: bool,
}

impl Table {
    fn ratio(&self, row: &Row, col: usize) -> Option<f64> {
        if !self.limit {
            return None;
        }
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

    /// The table's cells for the JSON, one per measured cell, the figures under `key`
    /// (`gib_per_s`, `ns_per_round_trip`).
    fn cells(&self, key: &'static str) -> Vec<JsonCell> {
        let mut items = Vec::new();
        for row in &self.rows {
            for (col, cell) in row.cells.iter().enumerate() {
                let Some(s) = cell else { continue };
                items.push(JsonCell {
                    transport: row.name,
                    msg_bytes: self.sizes[col],
                    figures: [(
                        key,
                        JsonStat {
                            median: round4(s.median),
                            min: round4(s.min),
                            max: round4(s.max),
                        },
                    )]
                    .into(),
                    ratio_to_limit: self.ratio(row, col).map(round4),
                });
            }
        }
        items
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

/// One cell of a table in the JSON: `{"transport": "pipe", "msg_bytes": 4096, "gib_per_s":
/// {"median": 6.17, "min": 5.82, "max": 6.36}, "ratio_to_limit": 0.0823}` (the ratio is `null`
/// where the limit was not measured).
#[derive(Debug, Serialize)]
struct JsonCell {
    transport: &'static str,
    msg_bytes: usize,
    #[serde(flatten)]
    figures: std::collections::BTreeMap<&'static str, JsonStat>,
    ratio_to_limit: Option<f64>,
}

#[derive(Debug, Serialize)]
struct JsonStat {
    median: f64,
    min: f64,
    max: f64,
}

#[derive(Debug, Serialize)]
struct Json<'a> {
    machine: &'a str,
    bytes_per_run: u64,
    repeats: u32,
    throughput: Vec<JsonCell>,
    latency: Vec<JsonCell>,
    wakeups: Vec<JsonCell>,
    idle_cpu_percent: Vec<JsonIdle>,
}

/// What a ring's sides cost while no data moves, in % of one CPU.
#[derive(Debug, Serialize)]
struct JsonIdle {
    transport: &'static str,
    writer: f64,
    reader: f64,
}

/// The idle figures of the rings that sleep: (transport, writer %, reader %).
pub type Idle = Vec<(&'static str, f64, f64)>;

/// The idle figures as text, one line per ring.
pub fn idle_text(idle: &Idle) -> String {
    let mut out =
        String::from("Idle: CPU used while waiting for the other side, % of one CPU over 300 ms\n");
    let _ = writeln!(out, "{:<30}{:>16}{:>16}", "transport", "writer", "reader");
    for (name, w, r) in idle {
        let _ = writeln!(out, "{name:<30}{:>15.1}%{:>15.1}%", w, r);
    }
    out
}

/// The whole run as JSON (serde_json, which escapes what a name or the CPU model may hold).
pub fn json(
    machine: &str,
    bytes_per_run: u64,
    repeats: u32,
    throughput: &Table,
    latency: &Table,
    wakeups: &Table,
    idle: &Idle,
) -> Result<String> {
    let json = Json {
        machine,
        bytes_per_run,
        repeats,
        throughput: throughput.cells("gib_per_s"),
        latency: latency.cells("ns_per_round_trip"),
        wakeups: wakeups.cells("futex_wakes_per_message"),
        idle_cpu_percent: idle
            .iter()
            .map(|&(transport, writer, reader)| JsonIdle {
                transport,
                writer: round4(writer),
                reader: round4(reader),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&json).map_err(|e| Error::msg("JSON", e.to_string()))
}

/// Four decimals are more than any figure here deserves.
fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
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

/// `4 KiB`, `1 MiB`, `1 GiB`, `1000 B`: the largest unit that divides the size.
pub fn size_name(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

/// A size as `--bytes` takes it: a whole number of bytes, with a unit after it or not, a space
/// between or not: `65536`, `4096B`, `64KiB`, `16 MiB`, `1GiB`; `K`, `M` and `G` alone are the
/// same binary units (as in `dd` and `head -c`); case does not matter. `KB`, `MB` and `GB` are
/// refused: some read them as powers of 1000, others of 1024.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    const FORM: &str = "a whole number of bytes, with B, KiB, MiB or GiB (or K, M, G) after it or not, such as 1GiB or 65536";
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    if number.is_empty() {
        return Err(format!("not a size: {FORM}"));
    }
    let shift = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "kb" | "mb" | "gb" => {
            let unit = unit.trim_start();
            let binary = format!("{}iB", &unit[..1].to_ascii_uppercase());
            return Err(format!(
                "{unit} is ambiguous (a power of 1000 or of 1024): write {binary}, or the number of bytes"
            ));
        }
        _ => return Err(format!("not a size: {FORM}")),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| "more bytes than 64 bits can count".to_owned())
}

/// `1 measured run`, `5 measured runs`: `noun` as it agrees with `n`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A figure with three significant digits or so: `6.17`, `74.9`, `11230`.
pub fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 0.1 || x == 0.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
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
        assert_eq!(size_name(1000), "1000 B");
        assert_eq!(size_name(4096), "4 KiB");
        assert_eq!(size_name(1 << 20), "1 MiB");
        assert_eq!(size_name(1 << 30), "1 GiB");
        assert_eq!(size_name(3 << 29), "1536 MiB");
    }

    #[test]
    fn sizes_are_read_as_they_are_printed() {
        for size in [
            0,
            8,
            1000,
            4096,
            64 << 10,
            1 << 20,
            16 << 20,
            1 << 30,
            3 << 29,
        ] {
            assert_eq!(parse_size(&size_name(size)), Ok(size as u64), "{size}");
        }
        let cases = [
            ("65536", 65536),
            ("4096B", 4096),
            ("64KiB", 64 << 10),
            ("64k", 64 << 10),
            ("16 MiB", 16 << 20),
            ("16M", 16 << 20),
            ("1GiB", 1 << 30),
            ("2g", 2 << 30),
            ("1 gib", 1 << 30),
        ];
        for (text, size) in cases {
            assert_eq!(parse_size(text), Ok(size), "{text}");
        }
        for bad in ["", "lots", "GiB", "1.5GiB", "1 TiB", "-1", "1GiBs", "0x10"] {
            assert!(
                parse_size(bad).unwrap_err().starts_with("not a size: "),
                "{bad}"
            );
        }
        assert!(parse_size("1GB").unwrap_err().contains("write GiB"));
        assert!(
            parse_size("99999999999GiB")
                .unwrap_err()
                .contains("64 bits")
        );
        assert!(
            parse_size("18446744073709551616")
                .unwrap_err()
                .contains("64 bits")
        );
    }

    #[test]
    fn plurals_agree() {
        assert_eq!(plural(1, "run", "runs"), "1 run");
        assert_eq!(plural(5, "run", "runs"), "5 runs");
        assert_eq!(plural(0, "run", "runs"), "0 runs");
    }

    #[test]
    fn json_escapes_and_keeps_the_fields() {
        let table = Table {
            title: "t",
            unit: "GiB/s",
            sizes: vec![4096, 1 << 20],
            limit: true,
            rows: vec![
                Row {
                    name: "memcpy",
                    cells: vec![Some(Stat::of(vec![2.0])), None],
                },
                Row {
                    name: "pipe",
                    cells: vec![Some(Stat::of(vec![1.0, 0.5, 0.25])), None],
                },
            ],
        };
        let latency = Table {
            title: "l",
            unit: "ns",
            sizes: vec![8],
            limit: true,
            rows: vec![],
        };
        let wakeups = Table {
            title: "w",
            unit: "",
            sizes: vec![1 << 20],
            limit: false,
            rows: vec![],
        };
        let text = json(
            "a \"quoted\" CPU\\",
            1 << 30,
            5,
            &table,
            &latency,
            &wakeups,
            &vec![],
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["machine"], "a \"quoted\" CPU\\");
        assert_eq!(v["bytes_per_run"], 1 << 30);
        assert_eq!(v["repeats"], 5);
        assert_eq!(
            v["throughput"],
            serde_json::json!([
                {"transport": "memcpy", "msg_bytes": 4096,
                 "gib_per_s": {"median": 2.0, "min": 2.0, "max": 2.0}, "ratio_to_limit": 1.0},
                {"transport": "pipe", "msg_bytes": 4096,
                 "gib_per_s": {"median": 0.5, "min": 0.25, "max": 1.0}, "ratio_to_limit": 0.25},
            ])
        );
        assert_eq!(v["latency"], serde_json::json!([]));
    }
}
