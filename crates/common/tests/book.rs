//! The book (docs/) is read beside the code, so it must not drift from it. mdBook itself does
//! not fail on a broken link, and only logs a broken include; this test fails on both, and
//! on a transcript typed into a chapter instead of included from the file a test checks:
//!
//! - every relative link in docs/src resolves to a file, and its `#anchor` to a heading;
//! - every image (`![alt](path)` or `<img src="path">`) names a file under docs/src, which
//!   mdBook copies into the book, and says in its alt text what it shows; every figure in
//!   docs/src/figures is shown by some chapter;
//! - every `{{#include}}` names a file that exists (and an `ANCHOR:` that exists);
//! - every ```console block is either one `{{#include}}` of a test transcript
//!   (`tests/transcripts/`) or of a recorded run (`recorded/`), or only `$ command` lines;
//! - every chapter file is listed in SUMMARY.md;
//! - a file with `ANCHOR:` lines is never included whole (its anchor lines would show: wrap
//!   the file in `// ANCHOR: all` ... `// ANCHOR_END: all` and include `path:all`);
//! - every example chapter shows its C and its Rust side by side: every C program in
//!   `crates/<example>/c/` is included there, step by step, each C step next to the Rust step
//!   of the same anchor name, and no table quoting C calls is left;
//! - every chapter with an `{{#include}}` starts, under its title, with the note that tells a
//!   reader on GitHub (where includes show as bare lines) where to read it whole, and the
//!   book's theme hides that note in the built book.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn book() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/src")
}

fn chapters() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(book())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
}

/// The id mdBook gives a heading: lower case, spaces to '-', other punctuation dropped.
fn anchor(heading: &str) -> String {
    let text = heading.trim_start_matches('#').trim();
    // The text as rendered: no backticks, and a link shows its text only.
    let mut plain = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        plain.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match (after.find("]("), after.find(')')) {
            (Some(close), Some(end)) if close < end => {
                plain.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                plain.push('[');
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    plain
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

/// The anchors of a chapter, numbered for repeats as mdBook does (`name`, `name-1`, ...).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code && line.starts_with('#') {
            let base = anchor(line);
            let mut id = base.clone();
            let mut n = 1;
            while seen.contains(&id) {
                id = format!("{base}-{n}");
                n += 1;
            }
            seen.insert(id);
        }
    }
    seen
}

/// `(target, line number)` of every Markdown link outside code.
fn links(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut in_code = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Inline code spans are not links.
        let outside: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = outside.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned();
            found.push((target, n + 1));
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn links_and_anchors_resolve() {
    let mut broken = Vec::new();
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        let name = chapter.file_name().unwrap().to_string_lossy().into_owned();
        for (target, line) in links(&text) {
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = match target.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                chapter.clone()
            } else {
                chapter.parent().unwrap().join(path)
            };
            if !file.exists() {
                broken.push(format!("{name}:{line}: {target}: no such file"));
                continue;
            }
            if let Some(fragment) = fragment
                && file.extension().is_some_and(|e| e == "md")
            {
                let target_text = std::fs::read_to_string(&file).unwrap();
                if !anchors(&target_text).contains(fragment) {
                    broken.push(format!(
                        "{name}:{line}: {target}: no heading with that anchor"
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links in the book:\n{}",
        broken.join("\n")
    );
}

/// `(target, alt text, line number)` of every image outside code: `![alt](target)` and
/// `<img src="target" alt="...">`. The alt text may be wrapped over several lines of a
/// paragraph (mdBook joins them); the line number is the line where the image starts.
fn images(text: &str) -> Vec<(String, String, usize)> {
    // The prose of the chapter, code blocks and code spans blanked, one line per line.
    let mut in_code = false;
    let prose: Vec<String> = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                return String::new();
            }
            if in_code {
                return String::new();
            }
            line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
        })
        .collect();
    let prose = prose.join("\n");
    let line_of = |at: usize| prose[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = prose[from..].find("![").map(|i| from + i) {
        from = i + 2;
        // The alt text ends at `](`, within its paragraph.
        let Some(close) = prose[from..].find("](").map(|c| from + c) else {
            break;
        };
        let alt = &prose[from..close];
        if alt.contains("\n\n") {
            continue;
        }
        let Some(end) = prose[close..].find(')').map(|e| close + e) else {
            break;
        };
        let target = prose[close + 2..end]
            .split_whitespace()
            .next()
            .unwrap_or("");
        let alt = alt.split_whitespace().collect::<Vec<_>>().join(" ");
        found.push((target.to_owned(), alt, line_of(i)));
        from = end;
    }
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(tag[start..start + tag[start..].find('"')?].to_owned())
    };
    let mut from = 0;
    while let Some(i) = prose[from..].find("<img ").map(|i| from + i) {
        let end = prose[i..].find('>').map_or(prose.len(), |e| i + e);
        let tag = &prose[i..end];
        let src = attr(tag, "src").unwrap_or_default();
        found.push((src, attr(tag, "alt").unwrap_or_default(), line_of(i)));
        from = end;
    }
    found
}

/// What is wrong with the images of `chapter`, whose text is `text`: a file that does not
/// exist, one outside docs/src (which mdBook does not copy into the book), no alt text.
fn image_problems(chapter: &Path, text: &str) -> Vec<String> {
    let name = chapter.file_name().unwrap().to_string_lossy().into_owned();
    let src = book().canonicalize().unwrap();
    let mut problems = Vec::new();
    for (target, alt, line) in images(text) {
        let at = format!("{name}:{line}: image {target}");
        if alt.trim().is_empty() {
            problems.push(format!("{at}: no alt text (say what the figure shows)"));
        }
        if target.contains("://") {
            problems.push(format!("{at}: not a file of the book"));
            continue;
        }
        match chapter.parent().unwrap().join(&target).canonicalize() {
            Err(_) => problems.push(format!("{at}: no such file")),
            Ok(file) if !file.starts_with(&src) || !file.is_file() => problems.push(format!(
                "{at}: not a file under docs/src, so not copied into the book"
            )),
            Ok(_) => {}
        }
    }
    problems
}

#[test]
fn images_exist_in_the_book_and_every_figure_is_shown() {
    let mut problems = Vec::new();
    let mut shown = BTreeSet::new();
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        problems.extend(image_problems(&chapter, &text));
        for (target, _, _) in images(&text) {
            if let Ok(file) = chapter.parent().unwrap().join(target).canonicalize() {
                shown.insert(file);
            }
        }
    }
    let figures = book().join("figures");
    for entry in std::fs::read_dir(&figures).unwrap().flatten() {
        let file = entry.path().canonicalize().unwrap();
        if !shown.contains(&file) {
            problems.push(format!(
                "figures/{}: shown by no chapter",
                entry.file_name().display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_missing_or_misplaced_image_is_found() {
    let chapter = book().join("chapter.md");
    let text = "Text.\n\n![A figure,\nwrapped](figures/no_such_figure.svg)\n\n\
                ```text\n![in code](figures/ignored.svg)\n```\n\
                ![](figures/copies.svg) and <img src=\"../../Cargo.toml\" alt=\"x\">\n\
                `![in a code span](figures/ignored.svg)` \
                <img alt=\"y\" src=\"figures/none.png\">\n";
    assert_eq!(
        image_problems(&chapter, text),
        [
            "chapter.md:3: image figures/no_such_figure.svg: no such file",
            "chapter.md:9: image figures/copies.svg: no alt text (say what the figure shows)",
            "chapter.md:9: image ../../Cargo.toml: not a file under docs/src, so not copied into \
             the book",
            "chapter.md:10: image figures/none.png: no such file",
        ]
    );
}

#[test]
fn includes_exist_and_console_blocks_are_tested_transcripts() {
    let mut problems = Vec::new();
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        let name = chapter.file_name().unwrap().to_string_lossy().into_owned();
        let mut console: Option<(usize, Vec<&str>)> = None;
        for (n, line) in text.lines().enumerate() {
            if let Some(start) = line.find("{{#include ") {
                let spec = line[start + 11..].split("}}").next().unwrap_or("").trim();
                let (path, anchor) = match spec.split_once(':') {
                    Some((p, a)) => (p, Some(a)),
                    None => (spec, None),
                };
                let file = chapter.parent().unwrap().join(path);
                match std::fs::read_to_string(&file) {
                    Err(_) => {
                        problems.push(format!("{name}:{}: include {path}: no such file", n + 1))
                    }
                    Ok(included) => {
                        if anchor.is_none() && included.contains("ANCHOR:") {
                            problems.push(format!(
                                "{name}:{}: include {path}: the file has anchors, whose lines would show: wrap it in `// ANCHOR: all` ... `// ANCHOR_END: all` and include {path}:all",
                                n + 1
                            ));
                        }
                        if let Some(anchor) = anchor.filter(|a| a.parse::<usize>().is_err())
                            && !included.contains(&format!("ANCHOR: {anchor}"))
                        {
                            problems
                                .push(format!("{name}:{}: include {spec}: no such anchor", n + 1));
                        }
                    }
                }
            }
            let fence = line.trim_start();
            match &mut console {
                None if fence.starts_with("```console") => console = Some((n + 1, Vec::new())),
                Some((at, body)) if fence.starts_with("```") => {
                    // One or more transcripts, one include per line.
                    let included = !body.is_empty()
                        && body.iter().all(|l| {
                            l.starts_with("{{#include ")
                                && (l.contains("/tests/transcripts/") || l.contains("recorded/"))
                        });
                    let commands = body
                        .iter()
                        .all(|l| l.starts_with("$ ") || l.starts_with("# ") || l.is_empty());
                    if !included && !commands {
                        problems.push(format!(
                            "{name}:{at}: a console block with output typed in: include the transcript a test checks"
                        ));
                    }
                    console = None;
                }
                Some((_, body)) => body.push(line),
                None => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The example chapters, each with C programs of its own in `crates/<example>/c/`.
const EXAMPLES: [&str; 8] = [
    "map_normalfile",
    "anon_fork",
    "sysv_shm",
    "posix_shm",
    "memfd_share",
    "filesize_vs_mapsize",
    "map_grow_file",
    "shm_counter",
];

/// `(path, anchor)` of every `{{#include path:anchor}}` line in `text`.
fn includes(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter_map(|line| {
            let start = line.find("{{#include ")?;
            let spec = line[start + 11..].split("}}").next()?.trim();
            Some(spec.split_once(':').unwrap_or((spec, "")))
        })
        .collect()
}

#[test]
fn every_example_shows_its_c_and_rust_side_by_side() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut problems = Vec::new();
    for example in EXAMPLES {
        let chapter = format!("{example}.md");
        let text = std::fs::read_to_string(book().join(&chapter)).unwrap();
        if !text.contains(r#"<div class="side-by-side">"#) {
            problems.push(format!("{chapter}: no side-by-side block"));
        }
        if text.lines().any(|l| l.starts_with("| Step | C")) {
            problems.push(format!(
                "{chapter}: a table quoting C calls is left beside the side-by-side blocks"
            ));
        }
        let incs = includes(&text);
        // Each C step is followed by the Rust step of the same name.
        for (i, (path, anchor)) in incs.iter().enumerate() {
            if !path.ends_with(".c") {
                continue;
            }
            match incs.get(i + 1) {
                Some((next, a)) if next.ends_with(".rs") && a == anchor => {}
                _ => problems.push(format!(
                    "{chapter}: {path}:{anchor} is not followed by a Rust include of `{anchor}`"
                )),
            }
        }
        let dir = root.join("crates").join(example).join("c");
        let programs = std::fs::read_dir(&dir).map_or(Vec::new(), |entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".c"))
                .collect()
        });
        if programs.is_empty() {
            problems.push(format!("crates/{example}/c/: no C program"));
        }
        for program in programs {
            let wanted = format!("crates/{example}/c/{program}");
            if !incs
                .iter()
                .any(|(path, anchor)| path.ends_with(&wanted) && !anchor.is_empty())
            {
                problems.push(format!("{chapter}: {wanted} is not shown step by step"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_chapter_is_in_the_summary() {
    let summary = std::fs::read_to_string(book().join("SUMMARY.md")).unwrap();
    let missing: Vec<String> = chapters()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "SUMMARY.md" && !summary.contains(&format!("({name})")))
        .collect();
    assert!(
        missing.is_empty(),
        "chapters not in SUMMARY.md: {missing:?}"
    );
}

#[test]
fn anchors_are_made_like_mdbook_makes_them() {
    assert_eq!(
        anchor("## What the port fixes in the C"),
        "what-the-port-fixes-in-the-c"
    );
    assert_eq!(
        anchor("### `MAP_PRIVATE` is copy-on-write"),
        "map_private-is-copy-on-write"
    );
    assert_eq!(
        anchor("## Seed 003's five-record variant"),
        "seed-003s-five-record-variant"
    );
    assert_eq!(anchor("### [Link](x.md) here"), "link-here");
}

/// Every question under a chapter's `## Exercises` has its answer folded below it (a
/// `<details>` block inside the list item), so that a reader can check what they saw.
#[test]
fn every_chapter_exercise_has_an_answer() {
    let mut problems = Vec::new();
    for path in chapters() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(start) = text.find("\n## Exercises\n") else {
            continue;
        };
        let section = &text[start + 1..];
        let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
        let mut open: Option<String> = None;
        for line in section.lines() {
            let numbered = line
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if numbered {
                if let Some(question) = open.take() {
                    problems.push(format!("{name}: exercise {question} has no answer"));
                }
                open = Some(line.split_once('.').unwrap().0.to_owned());
            } else if line.trim_start().starts_with("<summary>Answer</summary>") {
                open = None;
            }
        }
        if let Some(question) = open {
            problems.push(format!("{name}: exercise {question} has no answer"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The note under the title of every chapter that includes code or transcripts, the same in
/// each. GitHub shows a chapter's Markdown as it is, includes as bare lines; the built book
/// hides the note (`.github-only` in docs/theme/fit.css).
const GITHUB_NOTE: &str = r#"<div class="github-only">

> On GitHub this page shows include lines where its code and transcripts go: read it in the
> built book, with `make docs-open` (or `make docs`, then open `docs/book/index.html`).

</div>
"#;

/// What is wrong with the GitHub note of the chapter `name`, whose text is `text`.
fn github_note_problems(name: &str, text: &str) -> Vec<String> {
    let includes = text.contains("{{#include");
    let under_title = text
        .split_once('\n')
        .and_then(|(title, rest)| title.starts_with("# ").then_some(rest))
        .and_then(|rest| rest.strip_prefix('\n'))
        .unwrap_or("");
    let has_note = text.contains("class=\"github-only\"");
    if includes && !under_title.starts_with(GITHUB_NOTE) {
        vec![format!(
            "{name}: includes code or transcripts, so its title must be followed by a blank line \
             and the note (GITHUB_NOTE in this file), word for word"
        )]
    } else if !includes && has_note {
        vec![format!("{name}: has the GitHub note but includes nothing")]
    } else {
        Vec::new()
    }
}

#[test]
fn chapters_with_includes_say_where_to_read_them_whole() {
    let mut problems = Vec::new();
    let mut with_note = 0;
    for path in chapters() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        problems.extend(github_note_problems(&name, &text));
        with_note += usize::from(text.contains(GITHUB_NOTE));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(with_note > 0, "no chapter has the GitHub note");
    // The book's theme hides it: the built book has every include.
    let css = std::fs::read_to_string(book().join("../theme/fit.css")).unwrap();
    let toml = std::fs::read_to_string(book().join("../book.toml")).unwrap();
    assert!(
        css.contains(".github-only {\n    display: none;\n}") && toml.contains("\"theme/fit.css\""),
        "docs/theme/fit.css (in book.toml's additional-css) must hide .github-only"
    );
}

#[test]
fn a_missing_or_misplaced_github_note_is_found() {
    let include = "{{#include ../../crates/x/src/main.rs}}";
    let good = format!("# Title\n\n{GITHUB_NOTE}\nText.\n\n```rust\n{include}\n```\n");
    assert!(github_note_problems("good.md", &good).is_empty());
    let missing = format!("# Title\n\nText.\n\n```rust\n{include}\n```\n");
    assert_eq!(github_note_problems("missing.md", &missing).len(), 1);
    let below = format!("# Title\n\nText.\n\n{GITHUB_NOTE}\n```rust\n{include}\n```\n");
    assert_eq!(github_note_problems("below.md", &below).len(), 1);
    let reworded = good.replace("built book", "book");
    assert_eq!(github_note_problems("reworded.md", &reworded).len(), 1);
    let needless = format!("# Title\n\n{GITHUB_NOTE}\nText.\n");
    assert_eq!(github_note_problems("needless.md", &needless).len(), 1);
}
