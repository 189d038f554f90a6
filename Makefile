# shm-by-example. `make` lists the targets; `make run-all` runs every example with narration;
# `make test` runs every check.

.DEFAULT_GOAL := help
# A task runner: targets run one after another in the order given (cargo parallelises itself).
.NOTPARALLEL:
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO ?= cargo
# The scripts run the binaries this Makefile builds: the Rust ports, or with IMPL=c the
# project's own C programs (crates/*/c/*.c, built by `make c` into target/c).
IMPL ?= rust
ifeq ($(IMPL),c)
export BIN_DIR := $(CURDIR)/target/c
BUILD := c
else ifeq ($(IMPL),rust)
export BIN_DIR := $(CURDIR)/target/debug
BUILD := build
else
$(error IMPL must be rust or c, not '$(IMPL)')
endif
export IMPL
# The C programs: `make c` builds them as a C programmer would; `make test` builds them again
# with the sanitizers and runs them in the tests (SHM_C_SANITIZE, read by the testkit crate).
CC ?= cc
C_SOURCES := $(sort $(wildcard crates/*/c/*.c))
C_FLAGS := -std=c11 -Wall -Wextra -Werror -O2 -I crates/common/c
# Tests that cannot run here (the notes are not beside the checkout, say) append a line to
# this file; `make test` prints them in its summary.
export SHM_SKIP_LOG := $(CURDIR)/target/skipped.log
# mdbook: the one on PATH, else one installed here by `make docs` (cargo install, once, with
# the search feature only: the print page and the theme switch are always built; serve and
# watch are not needed to build). `make docs` fails on a book without its search index, as an
# mdbook built without search makes: `make docs MDBOOK=$(TOOLS)/bin/mdbook` uses one from here.
TOOLS := $(CURDIR)/.tools
MDBOOK_VERSION := 0.5.4
MDBOOK_FEATURES := search
MDBOOK := $(or $(shell command -v mdbook 2>/dev/null),$(TOOLS)/bin/mdbook)

# Every example's script, in the order the book teaches them.
SCRIPTS := scripts/map_normalfile.sh scripts/anon_fork.sh scripts/sysv_shm.sh scripts/posix_shm.sh \
           scripts/memfd_share.sh \
           scripts/filesize_vs_mapsize.sh scripts/map_grow_file.sh scripts/shm_counter.sh \
           scripts/file_transfer.sh

.PHONY: help build c run-all run-map-normalfile run-anon-fork run-sysv run-posix-shm run-memfd \
        run-filesize-vs-mapsize run-map-grow-file run-counter run-file-transfer bench bench-peers \
        exercises test test-rust test-exercises test-book-fit test-scripts test-bad-input test-faults test-memcheck check-leftovers lint fmt clippy shellcheck docs docs-open \
        clean clean-ipc cross-check

help: ## List the targets (this text)
	@echo "shm-by-example: C shared-memory IPC examples ported to Rust"
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-zA-Z0-9_-]*:.*## / { printf "  make %-24s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## Build every example program (target/debug)
	$(CARGO) build --workspace --bins

c: ## Build the project's own C programs (crates/*/c/*.c) into target/c with the system's cc
	@mkdir -p target/c
	@for src in $(C_SOURCES); do \
	    $(CC) $(C_FLAGS) -o "target/c/$$(basename "$$src" .c)" "$$src" || exit 1; \
	done
	@echo "c: $(words $(C_SOURCES)) programs built into target/c ($(CC) $(C_FLAGS))"

run-all: $(BUILD) ## Run every example in turn, with narration (IMPL=c: the C programs)
	@for s in $(SCRIPTS); do $$s; done

run-map-normalfile: $(BUILD) ## 1. Two unrelated processes share a file mapping (map_normalfile1/2)
	@scripts/map_normalfile.sh

run-anon-fork: $(BUILD) ## 2. Parent and child share a mapping made before fork (anon_fork)
	@scripts/anon_fork.sh

run-sysv: $(BUILD) ## 3. System V shared memory: sysv_write, then sysv_read (ipcs -m between)
	@scripts/sysv_shm.sh

run-posix-shm: $(BUILD) ## 4. POSIX shared memory: posix_shm_write, then posix_shm_read (/dev/shm between)
	@scripts/posix_shm.sh

run-memfd: $(BUILD) ## 5. Shared memory with no name: memfd_create, seals, the descriptor over a UNIX socket
	@scripts/memfd_share.sh

run-filesize-vs-mapsize: $(BUILD) ## 6. A mapping larger or smaller than its file: 0, SIGBUS, SIGSEGV
	@scripts/filesize_vs_mapsize.sh

run-map-grow-file: $(BUILD) ## 7. Map more than the file holds and use it as the file grows
	@scripts/map_grow_file.sh

run-counter: $(BUILD) ## 8. Two processes increment one shared counter: lock, atomic, none
	@scripts/shm_counter.sh

run-file-transfer: $(BUILD) ## 9. The notes' scenario: a file through a pipe (4 copies) and shared memory (2)
	@scripts/file_transfer.sh

bench: ## Measure (release build): IPC throughput and latency (ipc_bench), the counter's cost, the notes' file transfer
	@echo "bench: building the release binaries, then measuring: ipc_bench (about 40 s), the shared counter, the notes' file transfer (about a minute in all); keep the machine otherwise idle"
	$(CARGO) build --release --workspace --bins
	target/release/ipc_bench --svg target/ipc_bench.svg
	@BIN_DIR=$(CURDIR)/target/release scripts/bench_counter.sh
	@BIN_DIR=$(CURDIR)/target/release scripts/bench_transfer.sh

# iceoryx2 measured beside ipc_bench (peers/iceoryx2_bench: a workspace of its own, so that its
# heavy build stays out of build, test and run-all). The two JSON files stay in target/bench-peers.
PEER := peers/iceoryx2_bench
bench-peers: ## Measure iceoryx2 (crates.io) beside ipc_bench in one run: one table per figure (release builds; minutes)
	@echo "bench-peers: building ipc_bench and $(PEER) (release; iceoryx2 from crates.io: about 2 minutes the first time), then measuring both (under a minute)"
	$(CARGO) build --release -p ipc_bench
	$(CARGO) build --release --manifest-path $(PEER)/Cargo.toml
	@mkdir -p target/bench-peers
	target/release/ipc_bench --json > target/bench-peers/ipc_bench.json
	$(PEER)/target/release/iceoryx2_bench --json > target/bench-peers/iceoryx2.json
	@echo
	@$(PEER)/target/release/bench_peers_table target/bench-peers/ipc_bench.json target/bench-peers/iceoryx2.json

test: lint doc-check deps-check cross-check c docs test-rust msrv test-exercises test-book-fit test-scripts test-bad-input test-faults test-memcheck check-leftovers ## Every check: fmt, clippy, shellcheck, rustdoc, duplicate crates, the C, the book, tests, MSRV, scripts, faults, memcheck, leftovers
	@if [[ -s $(SHM_SKIP_LOG) ]]; then \
	    echo "make test: all checks passed; $$(wc -l <$(SHM_SKIP_LOG)) tests skipped:"; sed 's/^/  skipped: /' $(SHM_SKIP_LOG); \
	else \
	    echo "make test: all checks passed, none skipped"; \
	fi

exercises: ## The porting exercises: list them, check yours in order, stop at the first failing
	@$(CARGO) run -q -p exercises

test-exercises: ## Every exercise's tests fail on its skeleton and pass on the finished example
	@$(CARGO) run -q -p exercises -- verify

test-rust: ## The unit and integration tests (they run the real binaries, Rust and C; the C under ASan and UBSan)
	@mkdir -p target && rm -f $(SHM_SKIP_LOG)
	SHM_C_SANITIZE=1 ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(CARGO) test --workspace
	@if [[ -s $(SHM_SKIP_LOG) ]]; then echo "test-rust: $$(wc -l <$(SHM_SKIP_LOG)) tests skipped (see the summary at the end)"; fi

test-scripts: build c ## Run every script three times at once (Rust twice, C once: no collisions); each checks its lines
	@run() { for s in $(SCRIPTS); do $$s || { echo "$$s failed (IMPL=$$IMPL)"; return 1; }; done; }; \
	a=$$(mktemp); b=$$(mktemp); c=$$(mktemp); \
	run >"$$a" 2>&1 & pa=$$!; run >"$$b" 2>&1 & pb=$$!; \
	IMPL=c BIN_DIR=$(CURDIR)/target/c run >"$$c" 2>&1 & pc=$$!; \
	ok=1; wait $$pa || { cat "$$a"; ok=0; }; wait $$pb || { cat "$$b"; ok=0; }; wait $$pc || { cat "$$c"; ok=0; }; \
	rm -f "$$a" "$$b" "$$c"; \
	if [ $$ok = 1 ]; then echo "scripts: $(words $(SCRIPTS)) scripts, three runs at once (Rust, Rust, C): passed"; else exit 1; fi

test-bad-input: build ## Every binary against a matrix of bad arguments and paths: one-line errors only
	@scripts/bad_input.sh

test-faults: build ## Fault injection: full tmpfs, ulimit -f 0, FIFOs and symlinks, garbage, killed partners, PID namespaces
	@scripts/faults.sh

test-memcheck: build ## Memory errors: valgrind over every example, the tests under AddressSanitizer (nightly)
	@scripts/memcheck.sh

check-leftovers: ## Fail if tests or scripts left a System V segment or POSIX shm object behind
	@scripts/clean_ipc.sh --check

lint: fmt-check clippy shellcheck ## cargo fmt --check, clippy -D warnings, shellcheck

.PHONY: fmt-check doc-check msrv deps-check

fmt: ## Format every crate (cargo fmt --all)
	$(CARGO) fmt --all

fmt-check: ## Check formatting, changing nothing (cargo fmt --all --check; make fmt fixes it)
	$(CARGO) fmt --all --check

doc-check: ## The API docs (cargo doc) build without a warning: no broken intra-doc link
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --quiet --workspace --no-deps
	@echo "doc-check: cargo doc --workspace --no-deps: no warning"

# The oldest Rust the workspace claims to build with: rust-version in Cargo.toml.
MSRV := $(shell sed -n 's/^rust-version = "\(.*\)"$$/\1/p' Cargo.toml)

msrv: ## The workspace builds with its rust-version (Cargo.toml), a toolchain rustup installs if missing
	@[[ -n "$(MSRV)" ]] || { echo "msrv: no rust-version in Cargo.toml's [workspace.package]"; exit 1; }
	@if ! command -v rustup >/dev/null; then \
	    echo "msrv: skipped: no rustup here to run Rust $(MSRV), Cargo.toml's rust-version"; \
	    mkdir -p target; \
	    echo "msrv: no rustup to run Rust $(MSRV) with: rust-version not checked" >>$(SHM_SKIP_LOG); \
	    exit 0; \
	fi; \
	if ! rustup toolchain list | grep '^$(MSRV)-' >/dev/null; then \
	    echo "msrv: installing Rust $(MSRV), Cargo.toml's rust-version, to check that the workspace builds with it"; \
	    rustup toolchain install $(MSRV) --profile minimal; \
	fi; \
	echo "msrv: rustup run $(MSRV) cargo check --workspace --all-targets"; \
	rustup run $(MSRV) cargo check --quiet --workspace --all-targets; \
	echo "msrv: the workspace builds with Rust $(MSRV)"

deps-check: ## Cargo.lock holds no crate in two versions that could be one (scripts/duplicates.txt: why the rest)
	@scripts/deps_check.sh

clippy: ## Lint with clippy, warnings as errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The systems a learner may be on besides Linux/glibc: every crate must build there (the ones
# that need Linux say so at run time, in one line). Checked, not run: no linker is needed.
CROSS_TARGETS := x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd x86_64-unknown-linux-musl

cross-check: ## clippy -D warnings for macOS (x86-64, arm64), FreeBSD and musl (rustup target add as needed)
	@sysroot=$$(rustc --print sysroot); \
	for t in $(CROSS_TARGETS); do \
	    if [[ ! -d $$sysroot/lib/rustlib/$$t ]]; then \
	        echo "cross-check: installing the standard library for $$t (rustup target add $$t)"; \
	        rustup target add "$$t"; \
	    fi; \
	done
	@for t in $(CROSS_TARGETS); do \
	    echo "cross-check: cargo clippy --workspace --all-targets --target $$t"; \
	    $(CARGO) clippy --quiet --workspace --all-targets --target "$$t" -- -D warnings || exit 1; \
	done
	@echo "cross-check: $(words $(CROSS_TARGETS)) targets: every crate builds, clippy clean"

shellcheck: ## Check scripts/ and .ci/run with shellcheck (skipped with a notice if missing)
	@if command -v shellcheck >/dev/null; then \
	    shellcheck -x scripts/*.sh .ci/run .ci/unprivileged && echo "shellcheck: clean"; \
	else \
	    echo "shellcheck not installed: scripts/ not checked (apt-get install shellcheck)"; \
	fi

docs: $(MDBOOK) ## Build the book into docs/book, failing on a broken include
	@out=$$($(MDBOOK) build docs 2>&1); echo "$$out"; \
	if grep -qE '\b(ERROR|WARN)\b' <<<"$$out"; then echo "docs: mdbook reported problems"; exit 1; fi; \
	if grep -rl '{{#' docs/book --include='*.html'; then echo "docs: unresolved {{#...}} in the files above"; exit 1; fi; \
	if grep -rlE '<code class="language-[a-z]+"></code>' docs/book --include='*.html'; then \
	    echo "docs: empty code block (an include of a missing anchor?) in the files above"; exit 1; fi; \
	if ! compgen -G 'docs/book/searchindex*.js' >/dev/null; then \
	    echo "docs: the book has no search index: $(MDBOOK) was built without its search feature;"; \
	    echo "  run 'make docs MDBOOK=$(TOOLS)/bin/mdbook' (installs mdbook $(MDBOOK_VERSION) with search here), or"; \
	    echo "  install one with 'cargo install mdbook --version $(MDBOOK_VERSION)' (search is a default feature)"; exit 1; fi

test-book-fit: docs ## The book in headless Chromium: every page fits 1280 px, C and Rust side by side a phone too
	@scripts/book_fit.sh docs/book

docs-open: docs ## Build the book and open it in a browser
	@xdg-open docs/book/index.html 2>/dev/null || open docs/book/index.html 2>/dev/null || \
	    echo "open $(CURDIR)/docs/book/index.html in a browser"

$(TOOLS)/bin/mdbook:
	@echo "docs: no mdbook on PATH: installing mdbook $(MDBOOK_VERSION) (feature: $(MDBOOK_FEATURES)) into $(TOOLS)/bin with cargo, to build the book; once, a few minutes"
	$(CARGO) install --locked mdbook --version $(MDBOOK_VERSION) --no-default-features --features $(MDBOOK_FEATURES) --root $(TOOLS)

clean: ## Remove build output and the built book
	$(CARGO) clean
	rm -rf docs/book $(PEER)/target

clean-ipc: ## List and remove this project's leftover segments and shm objects (only those)
	@scripts/clean_ipc.sh
