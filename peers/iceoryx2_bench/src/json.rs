//! The figures as JSON, in ipc_bench's shape (`ipc_bench --json`): a list of cells per table,
//! each `{"transport", "msg_bytes", "gib_per_s" or "ns_per_round_trip": {"median", "min",
//! "max"}, "ratio_to_limit"}`. The peer writes it; `bench_peers_table` reads both files (and
//! ignores the fields it does not use, such as ipc_bench's `wakeups` and `idle_cpu_percent`).

use serde::{Deserialize, Serialize};

use ipc_bench::report::{Row, Stat, Table};

/// The throughput cells' key.
pub const GIB_PER_S: &str = "gib_per_s";
/// The latency cells' key.
pub const NS_PER_ROUND_TRIP: &str = "ns_per_round_trip";

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Figures {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl From<Stat> for Figures {
    fn from(s: Stat) -> Figures {
        let r = |x: f64| (x * 1e4).round() / 1e4;
        Figures {
            median: r(s.median),
            min: r(s.min),
            max: r(s.max),
        }
    }
}

impl From<Figures> for Stat {
    fn from(f: Figures) -> Stat {
        Stat {
            median: f.median,
            min: f.min,
            max: f.max,
        }
    }
}

/// One cell: a row (`transport`) at one message size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub transport: String,
    pub msg_bytes: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gib_per_s: Option<Figures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns_per_round_trip: Option<Figures>,
    /// Always null in the peer's file: its limits are ipc_bench's, in the other file.
    #[serde(default)]
    pub ratio_to_limit: Option<f64>,
}

impl Cell {
    /// The figures of the table this cell is in.
    pub fn figures(&self) -> Option<Figures> {
        self.gib_per_s.or(self.ns_per_round_trip)
    }
}

/// A whole file: ipc_bench's or the peer's (the fields one has and the other not are
/// optional).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// The peer's file: `iceoryx2 0.10.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    pub bytes_per_run: u64,
    pub repeats: u32,
    pub throughput: Vec<Cell>,
    pub latency: Vec<Cell>,
}

/// A table's cells, the figures under `key` (GIB_PER_S, NS_PER_ROUND_TRIP).
pub fn cells(table: &Table, key: &str) -> Vec<Cell> {
    let mut out = Vec::new();
    for row in &table.rows {
        for (col, cell) in row.cells.iter().enumerate() {
            let Some(stat) = cell else { continue };
            let figures = Some(Figures::from(*stat));
            out.push(Cell {
                transport: row.name.to_owned(),
                msg_bytes: table.sizes[col],
                gib_per_s: if key == GIB_PER_S { figures } else { None },
                ns_per_round_trip: if key == NS_PER_ROUND_TRIP {
                    figures
                } else {
                    None
                },
                ratio_to_limit: None,
            });
        }
    }
    out
}

/// Rows from cells, in the order they first appear, over `sizes`; names are leaked (a table
/// lives as long as the program that prints it).
pub fn rows(cells: &[Cell], sizes: &[usize]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for cell in cells {
        let Some(col) = sizes.iter().position(|&s| s == cell.msg_bytes) else {
            continue;
        };
        let i = match rows.iter().position(|r| r.name == cell.transport) {
            Some(i) => i,
            None => {
                rows.push(Row {
                    name: String::leak(cell.transport.clone()),
                    cells: vec![None; sizes.len()],
                });
                rows.len() - 1
            }
        };
        rows[i].cells[col] = cell.figures().map(Stat::from);
    }
    rows
}

/// The message sizes of some cells, in the order they first appear.
pub fn sizes(cells: &[Cell]) -> Vec<usize> {
    let mut sizes = Vec::new();
    for cell in cells {
        if !sizes.contains(&cell.msg_bytes) {
            sizes.push(cell.msg_bytes);
        }
    }
    sizes
}
