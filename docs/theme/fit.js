// A code block whose longest line is a little too long for the width it has, up to a quarter
// too long (a table of program output, such as ipc_bench's), is set in a smaller font, down
// to 80 %, so that every line stays whole; a longer one keeps its size and wraps (fit.css).
// Measured when the page loads, when its fonts arrive, and whenever the page beside the
// sidebar changes width (the window, the sidebar shown, hidden or resized). Without
// JavaScript every long line wraps.
(() => {
    "use strict";
    const FLOOR = 0.8;
    let pending = false;

    const fit = () => {
        pending = false;
        const main = document.querySelector("main");
        if (!main) return;
        const codes = [...main.querySelectorAll("pre > code")].filter((c) => !c.closest(".side-by-side"));
        codes.forEach((c) => { c.style.fontSize = ""; });
        // One layout with every line unwrapped, to measure; then one with the sizes set.
        main.classList.add("fit-measuring");
        const sizes = codes.map((c) => {
            const cs = getComputedStyle(c);
            const pad = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight);
            const over = (c.scrollWidth - pad) / (c.clientWidth - pad);
            return over > 1 && 1 / over >= FLOOR ? parseFloat(cs.fontSize) / over * 0.99 : 0;
        });
        main.classList.remove("fit-measuring");
        codes.forEach((c, i) => { if (sizes[i]) c.style.fontSize = `${sizes[i].toFixed(2)}px`; });
    };
    const later = () => {
        if (!pending) {
            pending = true;
            requestAnimationFrame(fit);
        }
    };

    window.addEventListener("load", () => {
        fit();
        if (document.fonts) document.fonts.ready.then(later);
        const content = document.querySelector(".content");
        if (content && window.ResizeObserver) {
            let width = content.clientWidth;
            new ResizeObserver(() => {
                if (content.clientWidth !== width) {
                    width = content.clientWidth;
                    later();
                }
            }).observe(content);
        }
    });
})();
