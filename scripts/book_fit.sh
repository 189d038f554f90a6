#!/usr/bin/env bash
# book_fit.sh: check in headless Chromium that every page of the built book fits the screen.
#
# Every .html page at 1280 px (the sidebar shown): the page never scrolls sideways, nothing in
# it reaches past the window or under the sidebar, and nothing in it scrolls sideways on its
# own (no table, no code block, no paragraph: long code lines wrap). The pages with C and Rust
# side by side also at 400 px (a phone: the columns stack): the page never scrolls sideways
# and no code cell does. A failure names the page, the width, the element (its kind, its
# number among the page's elements of that kind, the heading it comes under, its first words)
# and by how much it does not fit.
#
# Usage: scripts/book_fit.sh BOOK_DIR [--shots DIR]   (make test-book-fit, after make docs)
#   --shots DIR   also save screenshots into DIR: every page at 1280 px from its top
#                 (PAGE-1280.png) and from its widest table or code block (PAGE-widest-1280.png),
#                 and each side-by-side page's first block at 1280 and 400 px
#                 (PAGE-sbs-1280.png, PAGE-sbs-400.png)
# Skipped, with a line that says so, when Chromium is not installed (apt-get install chromium).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^# Skipped/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# The measurement, run in the page once it has loaded: one line "FIT-RESULT: ok" or
# "FIT-RESULT: problem; ..." (spelled in two pieces in the script, so that only the result
# matches). With #shot, #shot-widest, #shot-sbs or #shot=ID (a heading's id) in the URL, it
# then removes what comes before the part to be shown, so that a screenshot (which does not
# scroll) starts there.
# shellcheck disable=SC2016 # JavaScript, not shell
probe='<script>
window.addEventListener("load", () => {
  const bad = [];
  const de = document.documentElement;
  const W = window.innerWidth;
  const main = document.querySelector("main");
  const sidebar = document.querySelector("html.sidebar-visible .sidebar");
  const left = sidebar && W >= 1100 ? Math.round(sidebar.getBoundingClientRect().right) : 0;
  // How a reader would find an element: "table 2 under \"The examples\" (Notes ...)".
  const count = new Map();
  const nth = new Map();
  main.querySelectorAll("*").forEach((el) => {
    const k = el.tagName.toLowerCase();
    count.set(k, (count.get(k) || 0) + 1);
    nth.set(el, count.get(k));
  });
  const name = (el) => {
    let h = null;
    for (const c of main.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
      if (c.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) h = c; else break;
    }
    const cls = el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "";
    const text = (el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 50);
    return `${el.tagName.toLowerCase()}${cls} ${nth.get(el)}` +
      (h ? ` under "${h.textContent.trim()}"` : "") + (text ? ` ("${text}")` : "");
  };
  if (de.scrollWidth > de.clientWidth + 1)
    bad.push(`the page scrolls sideways: ${de.scrollWidth}px wide in ${de.clientWidth}px`);
  const stacked = W < 1100;  // a phone: only the side-by-side blocks are checked
  const scope = stacked ? main.querySelectorAll(".side-by-side, .side-by-side *") : main.querySelectorAll("*");
  const out = new Set();
  scope.forEach((el) => {
    const cs = getComputedStyle(el);
    if (cs.display === "none" || cs.visibility === "hidden" || cs.position === "fixed") return;
    // Visually hidden (clipped to nothing) helpers, such as a screen reader label.
    if (cs.clip === "rect(0px, 0px, 0px, 0px)" || el.closest(".buttons")) return;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return;
    // Sticking out of the window, or under the sidebar; only the outermost such element.
    if ((r.right > W + 1 || r.left < left - 1) && !out.has(el.parentElement)) {
      out.add(el);
      bad.push(`${name(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}px, the page ${left}..${W}px`);
      return;
    }
    if (out.has(el.parentElement)) { out.add(el); return; }
    // Wider inside than its box: it scrolls sideways, or is cut off at the right. A table is
    // named, not the wrapper that scrolls it; what is inside is not reported again.
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 && cs.display !== "inline") {
      out.add(el);
      const shown = el.classList.contains("table-wrapper") && el.firstElementChild ? el.firstElementChild : el;
      bad.push(`${name(shown)} is ${el.scrollWidth}px wide in ${el.clientWidth}px: it scrolls sideways or is cut off`);
    }
  });
  const result = document.createElement("pre");
  result.id = "fit-result";
  result.textContent = "FIT" + "-RESULT: " + (bad.length ? bad.slice(0, 8).join("; ") + (bad.length > 8 ? `; and ${bad.length - 8} more` : "") : "ok");
  document.body.appendChild(result);
  // For a screenshot: drop what comes before the part to show, up to its heading.
  let first = null;
  if (location.hash === "#shot-sbs") first = main.querySelector(".side-by-side");
  if (location.hash.startsWith("#shot=")) first = document.getElementById(location.hash.slice(6));
  if (location.hash === "#shot-widest") {
    let widest = 0;
    main.querySelectorAll("pre, table").forEach((el) => {
      if (el.scrollWidth > widest) { widest = el.scrollWidth; first = el.closest(".table-wrapper") || el; }
    });
  }
  if (first) {
    let start = first;
    while (start.parentElement !== main) start = start.parentElement;
    while (start.previousElementSibling && !/^H[1-4]$/.test(start.tagName)) start = start.previousElementSibling;
    while (start.previousElementSibling) start.previousElementSibling.remove();
  }
  if (location.hash.startsWith("#shot")) result.remove();
});
</script>'

chrome=
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null; then chrome=$c; break; fi
done

# run_chrome WIDTH HEIGHT URL [ARGS...]: headless Chromium on one page.
run_chrome() {
    local width=$1 height=$2 url=$3
    shift 3
    "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size="$width,$height" --virtual-time-budget=5000 "$@" "$url" 2>/dev/null
}

main() {
    case ${1:-} in
    -h | --help) usage; return 0 ;;
    "" | -*) usage >&2; return 2 ;;
    esac
    local book=$1 shots=
    if [[ ${2:-} == --shots ]]; then
        shots=${3:-}
        [[ -n $shots ]] || { usage >&2; return 2; }
    elif [[ $# -gt 1 ]]; then
        usage >&2
        return 2
    fi
    [[ -d $book ]] || die "$book: not a directory (make docs builds the book into docs/book)"
    if [[ -z $chrome ]]; then
        local why="Chromium is not installed (apt-get install chromium): the book's fit to the screen was not checked"
        echo "book-fit: skipped: $why"
        [[ -z ${SHM_SKIP_LOG:-} ]] || echo "book_fit.sh: $why" >>"$SHM_SKIP_LOG"
        return 0
    fi
    make_tmp "${TMPDIR:-/tmp}"
    cp -r -- "$book/." "$tmp/"
    [[ -z $shots ]] || mkdir -p -- "$shots"
    local page base pages=0 sbs=0 failed=0 width widths result
    for page in "$tmp"/*.html; do
        case $(basename "$page") in
        # Not pages: the sidebar's contents (shown in a frame without JavaScript), and the
        # page a web server shows for a missing one (its links need the server's root).
        toc.html | 404.html | *.probe.html) continue ;;
        esac
        base=$(basename "$page" .html)
        pages=$((pages + 1))
        widths=(1280)
        if grep -q 'class="side-by-side"' "$page"; then
            widths+=(400)
            sbs=$((sbs + 1))
        fi
        # The probe goes in before </body>, in a copy: the book itself is not touched.
        awk -v probe="$probe" '/<\/body>/ { print probe } { print }' "$page" >"$page.probe.html"
        for width in "${widths[@]}"; do
            result=$(run_chrome "$width" 900 "file://$page.probe.html" --dump-dom |
                grep -o 'FIT-RESULT: [^<]*' || echo "FIT-RESULT: no result (the page did not load)")
            if [[ $result != "FIT-RESULT: ok" ]]; then
                echo "book-fit: $base.html at ${width}px: ${result#FIT-RESULT: }"
                failed=$((failed + 1))
            fi
        done
        if [[ -n $shots ]]; then
            run_chrome 1280 1100 "file://$page.probe.html#shot" --screenshot="$shots/$base-1280.png" >/dev/null
            run_chrome 1280 1100 "file://$page.probe.html#shot-widest" \
                --screenshot="$shots/$base-widest-1280.png" >/dev/null
            if ((${#widths[@]} > 1)); then
                for width in "${widths[@]}"; do
                    run_chrome "$width" 1100 "file://$page.probe.html#shot-sbs" \
                        --screenshot="$shots/$base-sbs-$width.png" >/dev/null
                done
            fi
        fi
    done
    ((pages > 0)) || die "$book has no .html page (make docs builds the book into docs/book)"
    ((sbs > 0)) || die "no page of $book has a side-by-side block"
    ((failed == 0)) || die "$failed page and width pairs do not fit"
    echo "book-fit: all $pages pages fit at 1280 px, and the $sbs with C and Rust side by side at 400 px"
}

main "$@"
