//! `--svg PATH`: the page map of a run, drawn as an SVG figure. It shows what the text picture
//! under each case shows, and a little more: the file's bytes page by page, the pages of the
//! mapping (what was asked for, and the rest of its last page), the `PROT_NONE` reservation
//! after it, and what each probe did, with its offset. Chapter 6's figures
//! (`docs/src/figures/filesize_vs_mapsize_*.svg`) are this output; the test
//! `the_books_figures_are_the_programs_svg_output` makes them again and compares.
//!
//! Nothing in the figure depends on the machine but the page size, which it states.

use std::io::Write;
use std::path::Path;

use common::probe::Outcome;
use common::{Context, Result};

/// One case the program ran: the file's size, the mapping's, the page size, and each probe's
/// offset with what it did, in the order made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub filesize: u64,
    pub mapsize: u64,
    pub page_size: u64,
    pub probes: Vec<(u64, Outcome)>,
}

/// `--svg PATH`: writes the figure of `cases` (one below the other) to `path`, if one is given.
/// The file is created as the data file is (`common::file::create`): never through a symlink,
/// never another user's file, nothing but a regular file.
pub fn write(path: Option<&Path>, cases: &[Case]) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut out = common::file::create(path, 0o644)?;
    out.write_all(document(cases).as_bytes())
        .with_context(|| format!("write {}", path.display()))
}

/// Narrowest figure: the width of the book's text column, so that the legend fits.
const MIN_WIDTH: u64 = 800;
/// Room on the left for the names of the rows.
const LEFT: u64 = 100;
/// Pixels a page.
const PAGE_W: u64 = 130;
/// Height of one case's figure.
const CASE_H: u64 = 330;

const FONT: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";
const FILE: &str = "#6baed6"; // bytes of the file
const FILE_TAIL: &str = "#deebf7"; // the rest of the file's last page
const MAPPED: &str = "#a1d99b"; // bytes asked to map
const MAPPED_TAIL: &str = "#e5f5e0"; // the rest of the mapping's last page
const RESERVED: &str = "#eeeeee"; // PROT_NONE
const DASHED: &str = r##"stroke="#222" stroke-dasharray="4 3""##;

/// The SVG document: each case's figure, one below the other, on a white background (the
/// book's dark themes show it as it is).
pub fn document(cases: &[Case]) -> String {
    let width = cases
        .iter()
        .map(|c| LEFT + columns(c) * PAGE_W + 20)
        .fold(MIN_WIDTH, u64::max);
    let height = CASE_H * cases.len() as u64;
    let mut svg = Svg(String::new());
    svg.line(&format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}""#
    ));
    svg.line(&format!(r#"     viewBox="0 0 {width} {height}""#));
    svg.line(&format!(
        r##"     font-family="{FONT}" font-size="14" fill="#222">"##
    ));
    svg.line(
        "  <title>File size against mapping size: the pages, and what each access did</title>",
    );
    svg.line(&format!(
        r##"  <rect width="{width}" height="{height}" fill="#ffffff"/>"##
    ));
    for (i, case) in cases.iter().enumerate() {
        draw(&mut svg, case, i as u64 * CASE_H);
    }
    svg.line("</svg>");
    svg.0
}

/// Pages drawn: every page a probe touched (the last probe is the page after the larger size).
fn columns(case: &Case) -> u64 {
    case.probes
        .iter()
        .map(|&(offset, _)| offset / case.page_size + 1)
        .max()
        .unwrap_or(1)
}

/// One case, its top at `top`.
fn draw(svg: &mut Svg, case: &Case, top: u64) {
    let Case {
        filesize,
        mapsize,
        page_size: ps,
        ..
    } = *case;
    let y = |dy: u64| top + dy;
    svg.line(&format!(
        "  <!-- filesize {filesize}, mapsize {mapsize}, pages of {ps} bytes -->"
    ));
    svg.text(
        10,
        y(26),
        r#"font-size="15" font-weight="bold""#,
        &format!("filesize = {filesize}, mapsize = {mapsize}, pages of {ps} bytes"),
    );
    for (name, dy) in [
        ("page", 54),
        ("file", 96),
        ("mapping", 132),
        ("first byte", 166),
        ("last byte", 210),
    ] {
        svg.text(10, y(dy), "", name);
    }
    let mapped_pages = mapsize.div_ceil(ps);
    for page in 0..columns(case) {
        let x = LEFT + page * PAGE_W;
        let start = page * ps;
        let mid = x + PAGE_W / 2;
        svg.text(
            mid,
            y(54),
            r#"text-anchor="middle""#,
            &format!("page {page}"),
        );
        svg.text(
            mid,
            y(70),
            r##"text-anchor="middle" font-size="12" fill="#555""##,
            &format!("{start}..{}", start + ps - 1),
        );
        // The file: its bytes in this page, then, in its last page, the rest of the page.
        let in_file = filesize.saturating_sub(start).min(ps);
        if in_file > 0 {
            split_page(svg, x, y(78), in_file, ps, FILE, FILE_TAIL);
        }
        // The mapping: the bytes asked for, the rest of the last page; past it, the reservation.
        if page < mapped_pages {
            let asked = mapsize.saturating_sub(start).min(ps);
            split_page(svg, x, y(114), asked, ps, MAPPED, MAPPED_TAIL);
            svg.text(
                mid,
                y(132),
                r#"text-anchor="middle" font-size="12""#,
                "mapped",
            );
        } else {
            svg.rect(
                x + 2,
                y(114),
                PAGE_W - 4,
                26,
                &format!(r##"fill="{RESERVED}" stroke="#222""##),
            );
            svg.text(
                mid,
                y(132),
                r#"text-anchor="middle" font-size="12""#,
                "PROT_NONE",
            );
        }
    }
    // The probes: the first byte of a page on one row, its last byte on the next, so that
    // the two never share a line.
    for &(offset, outcome) in &case.probes {
        let page = offset / ps;
        let first = offset % ps == 0;
        let (x, anchor, dy) = if first {
            (LEFT + page * PAGE_W + 6, "start", 166)
        } else {
            (LEFT + (page + 1) * PAGE_W - 6, "end", 210)
        };
        let (color, word) = match outcome {
            Outcome::Value(v) => ("#2a7d2a", v.to_string()),
            Outcome::Signal(libc::SIGBUS) => ("#c0392b", "SIGBUS".to_owned()),
            Outcome::Signal(libc::SIGSEGV) => ("#7b3fa0", "SIGSEGV".to_owned()),
            Outcome::Signal(other) => ("#222", format!("signal {other}")),
        };
        svg.text(
            x,
            y(dy),
            &format!(r#"text-anchor="{anchor}" font-weight="bold" fill="{color}""#),
            &word,
        );
        svg.text(
            x,
            y(dy + 17),
            &format!(r##"text-anchor="{anchor}" font-size="12" fill="#555""##),
            &format!("ptr[{offset}]"),
        );
    }
    // The legend.
    let swatches = [
        (FILE, "", "the file's bytes", 10),
        (FILE_TAIL, DASHED, "the rest of its last page", 180),
        (MAPPED, "", "the bytes mapped", 400),
        (MAPPED_TAIL, DASHED, "the rest of the last mapped page", 560),
    ];
    for (fill, stroke, label, x) in swatches {
        let stroke = if stroke.is_empty() {
            r##"stroke="#222""##
        } else {
            stroke
        };
        svg.rect(x, y(250), 18, 14, &format!(r#"fill="{fill}" {stroke}"#));
        svg.text(x + 24, y(262), r#"font-size="12""#, label);
    }
    svg.rect(
        10,
        y(272),
        18,
        14,
        &format!(r##"fill="{RESERVED}" stroke="#222""##),
    );
    svg.text(
        34,
        y(284),
        r#"font-size="12""#,
        "PROT_NONE: the program's reservation after the mapping, where nothing else can be",
    );
    svg.text(
        10,
        y(308),
        r#"font-size="12" font-style="italic""#,
        "A number: the byte read (a probe then stores 1). SIGBUS: a mapped page with no byte \
         of the file. SIGSEGV: past the mapping.",
    );
}

/// A page's box split in two at `bytes` of `ps`: `fill` up to there, `tail` (dashed) after.
fn split_page(svg: &mut Svg, x: u64, y: u64, bytes: u64, ps: u64, fill: &str, tail: &str) {
    let inner = PAGE_W - 4;
    let w = (bytes * inner).div_ceil(ps);
    svg.rect(
        x + 2,
        y,
        w,
        26,
        &format!(r##"fill="{fill}" stroke="#222""##),
    );
    if w < inner {
        svg.rect(
            x + 2 + w,
            y,
            inner - w,
            26,
            &format!(r#"fill="{tail}" {DASHED}"#),
        );
    }
}

/// The document being written, one element a line.
struct Svg(String);

impl Svg {
    fn line(&mut self, line: &str) {
        self.0.push_str(line);
        self.0.push('\n');
    }

    fn rect(&mut self, x: u64, y: u64, w: u64, h: u64, style: &str) {
        self.line(&format!(
            r#"  <rect x="{x}" y="{y}" width="{w}" height="{h}" {style}/>"#
        ));
    }

    /// `content` is the program's own text: numbers and fixed words, nothing to escape.
    fn text(&mut self, x: u64, y: u64, attrs: &str, content: &str) {
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" {attrs}")
        };
        self.line(&format!(
            r#"  <text x="{x}" y="{y}"{attrs}>{content}</text>"#
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(filesize: u64, mapsize: u64, probes: &[(u64, Outcome)]) -> Case {
        Case {
            filesize,
            mapsize,
            page_size: 4096,
            probes: probes.to_vec(),
        }
    }

    #[test]
    fn one_column_a_page_probed_and_the_book_width_at_least() {
        let bus = Outcome::Signal(libc::SIGBUS);
        let segv = Outcome::Signal(libc::SIGSEGV);
        let c = case(
            1,
            8192,
            &[(0, Outcome::Value(0)), (4095, Outcome::Value(0))],
        );
        assert_eq!(columns(&c), 1);
        let c = case(0, 8192, &[(0, bus), (8191, bus), (8192, segv)]);
        assert_eq!(columns(&c), 3);
        assert!(
            document(std::slice::from_ref(&c))
                .starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width="800" height="330""#)
        );
        // 63 pages and the page after: wider than the book, as wide as it needs.
        let c = case(0, 63 * 4096, &[(63 * 4096, segv)]);
        let doc = document(&[c.clone(), c]);
        assert!(doc.contains(r#"width="8440" height="660""#), "{doc}");
    }

    #[test]
    fn every_probe_is_drawn_with_its_offset_and_outcome() {
        let doc = document(&[case(
            5000,
            8192,
            &[
                (0, Outcome::Value(7)),
                (4095, Outcome::Value(0)),
                (4096, Outcome::Signal(libc::SIGBUS)),
                (8192, Outcome::Signal(libc::SIGSEGV)),
            ],
        )]);
        for want in [
            ">7</text>",
            ">ptr[0]</text>",
            ">ptr[4095]</text>",
            ">SIGBUS</text>",
        ] {
            assert!(doc.contains(want), "{want} in {doc}");
        }
        assert!(doc.contains(">SIGSEGV</text>") && doc.contains(">ptr[8192]</text>"));
        // The file: a whole page, then 904 bytes of page 1 and its dashed rest.
        assert!(
            doc.contains(r##"width="126" height="26" fill="#6baed6""##),
            "{doc}"
        );
        assert!(
            doc.contains(r##"width="28" height="26" fill="#6baed6""##),
            "{doc}"
        );
        assert!(
            doc.contains(r##"width="98" height="26" fill="#deebf7""##),
            "{doc}"
        );
    }
}
