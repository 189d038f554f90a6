#!/usr/bin/env bash
# book_fit.sh: check in headless Chromium that the built book's side-by-side C/Rust blocks
# fit the screen: at 1280 px (sidebar shown) and at 400 px (a phone: the columns stack), no
# block reaches past the window or under the sidebar, no code cell scrolls sideways, and the
# page itself never scrolls sideways. With --shots DIR it also saves a screenshot of each
# example chapter's first block at both widths.
#
# Usage: scripts/book_fit.sh BOOK_DIR [--shots DIR]   (make test-book-fit, after make docs)
# Skipped, with a line that says so, when Chromium is not installed (apt-get install chromium).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The measurement, run in the page once it has loaded: one line "FIT-RESULT: ok" or
# "FIT-RESULT: problem; ..." (spelled in two pieces in the script, so that only the result
# matches).
# shellcheck disable=SC2016 # JavaScript, not shell
probe='<script>
window.addEventListener("load", () => {
  const bad = [];
  const de = document.documentElement;
  if (de.scrollWidth > de.clientWidth + 1) bad.push(`page is ${de.scrollWidth}px wide in ${de.clientWidth}px`);
  const sidebar = document.querySelector("html.sidebar-visible #sidebar, html.sidebar-visible .sidebar");
  const left = sidebar && window.innerWidth >= 1100 ? sidebar.getBoundingClientRect().right : 0;
  document.querySelectorAll(".side-by-side").forEach((block, i) => {
    const r = block.getBoundingClientRect();
    if (r.left < left - 1 || r.right > window.innerWidth + 1)
      bad.push(`block ${i + 1} spans ${Math.round(r.left)}..${Math.round(r.right)}px, window ${left}..${window.innerWidth}`);
    block.querySelectorAll("pre, code").forEach((el) => {
      if (el.scrollWidth > el.clientWidth + 1) bad.push(`block ${i + 1}: a code cell scrolls sideways`);
    });
  });
  // For a screenshot (#shot): drop what comes before the heading of the first block, so
  // that it is at the top of the window (a headless screenshot does not follow scrolling).
  const first = document.querySelector("main .side-by-side");
  if (location.hash === "#shot" && first) {
    let start = first;
    while (start.previousElementSibling && !/^H[12]$/.test(start.tagName)) start = start.previousElementSibling;
    while (start.previousElementSibling) start.previousElementSibling.remove();
  }
  const out = document.createElement("pre");
  out.id = "fit-result";
  out.textContent = "FIT" + "-RESULT: " + (bad.length ? bad.join("; ") : "ok");
  document.body.appendChild(out);
});
</script>'

chrome=
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null; then chrome=$c; break; fi
done

main() {
    local book=${1:?usage: book_fit.sh BOOK_DIR [--shots DIR]} shots=
    [[ ${2:-} == --shots ]] && shots=${3:?--shots needs a directory}
    if [[ -z $chrome ]]; then
        local why="Chromium is not installed (apt-get install chromium): the side-by-side layout was not checked"
        echo "book-fit: skipped: $why"
        [[ -z ${SHM_SKIP_LOG:-} ]] || echo "book_fit.sh: $why" >>"$SHM_SKIP_LOG"
        return 0
    fi
    make_tmp "${TMPDIR:-/tmp}"
    cp -r -- "$book/." "$tmp/"
    local page pages=0 failed=0 width result
    for page in "$tmp"/*.html; do
        [[ $page == */print.html ]] && continue  # every chapter again, on one page
        grep -q 'class="side-by-side"' "$page" || continue
        pages=$((pages + 1))
        # The probe goes in before </body>, in a copy: the book itself is not touched.
        awk -v probe="$probe" '/<\/body>/ { print probe } { print }' "$page" >"$page.probe.html"
        for width in 1280 400; do
            result=$("$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
                --window-size="$width,900" --virtual-time-budget=5000 --dump-dom \
                "file://$page.probe.html" 2>/dev/null | grep -o 'FIT-RESULT: [^<]*' || echo "FIT-RESULT: no result")
            if [[ $result != "FIT-RESULT: ok" ]]; then
                echo "book-fit: $(basename "$page") at ${width}px: ${result#FIT-RESULT: }"
                failed=$((failed + 1))
            fi
            if [[ -n $shots ]]; then
                mkdir -p -- "$shots"
                "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
                    --window-size="$width,1100" --virtual-time-budget=5000 \
                    --screenshot="$shots/$(basename "$page" .html)-$width.png" \
                    "file://$page.probe.html#shot" >/dev/null 2>&1
            fi
        done
    done
    ((pages > 0)) || die "no page of $book has a side-by-side block"
    ((failed == 0)) || die "$failed page and width pairs do not fit"
    echo "book-fit: $pages pages with side-by-side blocks fit at 1280 px and 400 px"
}

main "$@"
