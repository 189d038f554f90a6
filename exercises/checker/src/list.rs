//! The exercises, in the order of the book: what each one asks you to write, and which of the
//! real example's tests check it.

/// One porting exercise: a crate `exercises/<dir>/` with a skeleton to fill in.
#[derive(Debug)]
pub struct Exercise {
    /// The exercise's number, from 1, as `check N` takes it.
    pub id: usize,
    /// Its directory under `exercises/`, and its package name is `ex<dir>`.
    pub dir: &'static str,
    /// One line: what you port.
    pub title: &'static str,
    /// The binary you build (`ex01_map_normalfile2`) and the example binary it stands in for
    /// (`map_normalfile2`): the example's tests run yours under that name.
    pub program: (&'static str, &'static str),
    /// The example crate whose tests check the exercise, and the test targets
    /// (tests/NAME.rs) that hold them.
    pub example: &'static str,
    pub test_targets: &'static [&'static str],
    /// The tests of that target that run your program, by name. Each one fails on the
    /// skeleton (`make test` checks that) and passes on the finished example.
    pub tests: &'static [&'static str],
    /// The finished example: the file your skeleton becomes.
    pub solution: &'static str,
    /// The C program you port (the project's own, beside the example).
    pub c: &'static str,
    /// The chapter to read first.
    pub chapter: &'static str,
}

impl Exercise {
    /// `exercises/<dir>`, relative to the workspace root.
    pub fn path(&self) -> String {
        format!("exercises/{}", self.dir)
    }

    /// The skeleton you edit: `exercises/<dir>/src/main.rs` where the solution is a program,
    /// else the module of the same name (`crates/shm_counter/src/ops.rs` -> `src/ops.rs`).
    pub fn source(&self) -> String {
        let file = match self.solution.rsplit_once('/') {
            Some((dir, file)) if !dir.ends_with("/bin") && file != "main.rs" => file,
            _ => "main.rs",
        };
        format!("exercises/{}/src/{file}", self.dir)
    }

    /// The files of the tests: `crates/shm_counter/tests/{shm_counter,c}.rs`.
    pub fn test_files(&self) -> String {
        match self.test_targets {
            [one] => format!("crates/{}/tests/{one}.rs", self.example),
            many => format!("crates/{}/tests/{{{}}}.rs", self.example, many.join(",")),
        }
    }
}

pub const EXERCISES: &[Exercise] = &[
    Exercise {
        id: 1,
        dir: "01_map_reader",
        title: "map a file and print its records (open, fstat, mmap, print)",
        program: ("ex01_map_normalfile2", "map_normalfile2"),
        example: "map_normalfile",
        test_targets: &["map_normalfile"],
        tests: &[
            "tmpfs_file_keeps_the_records_past_end_of_file",
            "disk_file_reads_zeros_past_end_of_file_after_umap",
            "c_and_rust_share_the_file_both_ways",
            "bad_input_is_one_line_and_exit_status",
        ],
        solution: "crates/map_normalfile/src/bin/map_normalfile2.rs",
        c: "crates/map_normalfile/c/map_normalfile2.c",
        chapter: "docs/src/map_normalfile.md",
    },
    Exercise {
        id: 2,
        dir: "02_map_writer",
        title: "make a file, map more of it than it holds, fill it, hold it (open, lseek, write, posix_fallocate, mmap, msync)",
        program: ("ex02_map_normalfile1", "map_normalfile1"),
        example: "map_normalfile",
        test_targets: &["map_normalfile"],
        tests: &[
            "tmpfs_file_keeps_the_records_past_end_of_file",
            "disk_file_reads_zeros_past_end_of_file_after_umap",
            "writer_leaves_a_five_record_owner_only_file",
            "c_and_rust_share_the_file_both_ways",
            "bad_input_is_one_line_and_exit_status",
        ],
        solution: "crates/map_normalfile/src/bin/map_normalfile1.rs",
        c: "crates/map_normalfile/c/map_normalfile1.c",
        chapter: "docs/src/map_normalfile.md",
    },
    Exercise {
        id: 3,
        dir: "03_anon_fork",
        title: "parent and child share a mapping made before fork: MAP_SHARED, MAP_PRIVATE, /dev/zero, a file",
        program: ("ex03_anon_fork", "anon_fork"),
        example: "anon_fork",
        test_targets: &["anon_fork"],
        tests: &[
            "shared_anonymous_mapping_is_seen_by_both",
            "private_mapping_is_copied_on_write",
            "dev_zero_mapping_is_shared_like_an_anonymous_one",
            "private_dev_zero_mapping_is_copied_on_write",
            "file_mapping_is_shared_across_fork_and_lands_in_the_file",
            "output_order_holds_when_stdout_is_a_file",
            "bad_input_is_one_line_and_exit_status",
            "a_full_tmpfs_is_an_error_not_sigbus",
            "a_file_size_limit_is_an_error_not_sigxfsz",
            "another_users_file_is_not_truncated",
        ],
        solution: "crates/anon_fork/src/main.rs",
        c: "crates/anon_fork/c/anon_fork.c",
        chapter: "docs/src/anon_fork.md",
    },
    Exercise {
        id: 4,
        dir: "04_sysv_write",
        title: "create a System V segment under a key, attach it, write a record (shmget, shmctl, shmat, shmdt)",
        program: ("ex04_sysv_write", "sysv_write"),
        example: "sysv_shm",
        test_targets: &["sysv_shm"],
        tests: &[
            "writer_then_reader_then_nothing_left",
            "reader_removes_a_segment_still_attached_by_the_writer",
            "a_segment_of_another_size_is_left_alone",
            "new_refuses_a_taken_key_and_leaves_its_segment",
            "interrupted_writer_removes_the_segment_it_created",
            "interrupted_writer_leaves_a_segment_it_did_not_create",
            "after_sigkill_clean_ipc_removes_what_was_left",
            "ftok_gives_both_programs_the_same_key",
        ],
        solution: "crates/sysv_shm/src/bin/sysv_write.rs",
        c: "crates/sysv_shm/c/sysv_write.c",
        chapter: "docs/src/sysv_shm.md",
    },
    Exercise {
        id: 5,
        dir: "05_sysv_read",
        title: "find a System V segment by key, print its record, remove it (shmget, IPC_STAT, shmat, IPC_RMID)",
        program: ("ex05_sysv_read", "sysv_read"),
        example: "sysv_shm",
        test_targets: &["sysv_shm"],
        tests: &[
            "writer_then_reader_then_nothing_left",
            "reader_removes_a_segment_still_attached_by_the_writer",
            "a_segment_of_another_size_is_left_alone",
            "new_refuses_a_taken_key_and_leaves_its_segment",
            "ftok_gives_both_programs_the_same_key",
        ],
        solution: "crates/sysv_shm/src/bin/sysv_read.rs",
        c: "crates/sysv_shm/c/sysv_read.c",
        chapter: "docs/src/sysv_shm.md",
    },
    Exercise {
        id: 6,
        dir: "06_posix_write",
        title: "create a POSIX shm object, size it, reserve it, map it, write a record (shm_open, ftruncate, posix_fallocate, mmap)",
        program: ("ex06_posix_shm_write", "posix_shm_write"),
        example: "posix_shm",
        test_targets: &["posix_shm"],
        tests: &[
            "writer_then_reader_then_nothing_left",
            "reader_unlinks_an_object_the_writer_still_maps",
            "unlink_flag_does_what_the_notes_do",
            "an_object_of_another_size_is_left_alone",
            "new_refuses_a_taken_name_and_leaves_its_object",
            "interrupted_writer_unlinks_the_object_it_created",
            "interrupted_writer_leaves_an_object_it_did_not_create",
            "after_sigkill_clean_ipc_removes_what_was_left",
            "a_file_size_limit_is_an_error_not_sigxfsz",
            "a_fifo_directory_or_symlink_under_the_name_is_refused",
        ],
        solution: "crates/posix_shm/src/bin/posix_shm_write.rs",
        c: "crates/posix_shm/c/posix_shm_write.c",
        chapter: "docs/src/posix_shm.md",
    },
    Exercise {
        id: 7,
        dir: "07_posix_read",
        title: "open a POSIX shm object by name, check it, map it, print it, unlink it (shm_open, fstat, mmap, shm_unlink)",
        program: ("ex07_posix_shm_read", "posix_shm_read"),
        example: "posix_shm",
        test_targets: &["posix_shm"],
        tests: &[
            "writer_then_reader_then_nothing_left",
            "reader_unlinks_an_object_the_writer_still_maps",
            "unlink_flag_does_what_the_notes_do",
            "an_object_of_another_size_is_left_alone",
            "new_refuses_a_taken_name_and_leaves_its_object",
            "a_fifo_directory_or_symlink_under_the_name_is_refused",
        ],
        solution: "crates/posix_shm/src/bin/posix_shm_read.rs",
        c: "crates/posix_shm/c/posix_shm_read.c",
        chapter: "docs/src/posix_shm.md",
    },
    Exercise {
        id: 8,
        dir: "08_sigbus_probe",
        title: "map more, or less, than a file holds and probe every page: 0, SIGBUS, SIGSEGV (UNP's test1.c)",
        program: ("ex08_filesize_vs_mapsize", "filesize_vs_mapsize"),
        example: "filesize_vs_mapsize",
        test_targets: &["filesize_vs_mapsize"],
        tests: &[
            "the_notes_two_cases_leave_no_temp_file",
            "edge_sizes_follow_the_rule",
            "the_largest_sizes_probe_inside_the_reservation_and_one_more_is_refused",
            "bad_input_is_one_line_and_exit_status",
            "what_is_not_a_regular_file_is_refused_before_a_byte_is_written",
            "past_ulimit_f_an_error_not_sigxfsz",
            "a_signal_at_any_moment_leaves_no_temp_file",
        ],
        solution: "crates/filesize_vs_mapsize/src/main.rs",
        c: "crates/filesize_vs_mapsize/c/filesize_vs_mapsize.c",
        chapter: "docs/src/filesize_vs_mapsize.md",
    },
    Exercise {
        id: 9,
        dir: "09_grow_file",
        title: "map 8 pages of an empty file and grow it under the mapping: SIGBUS, then 0 (UNP's test2.c)",
        program: ("ex09_map_grow_file", "map_grow_file"),
        example: "map_grow_file",
        test_targets: &["map_grow_file"],
        tests: &[
            "classic_growth_page_by_page_leaves_no_temp_file",
            "classic_growth_of_a_named_file_keeps_it",
            "what_is_not_a_regular_file_is_refused_before_a_byte_is_written",
            "past_ulimit_f_an_error_not_sigxfsz",
            "a_signal_at_any_moment_leaves_no_temp_file",
        ],
        solution: "crates/map_grow_file/src/main.rs",
        c: "crates/map_grow_file/c/map_grow_file.c",
        chapter: "docs/src/map_grow_file.md",
    },
    Exercise {
        id: 10,
        dir: "10_counter_lock",
        title: "a counter two processes increment under a process-shared mutex (raw_sync, pthread_mutex_init)",
        program: ("ex10_shm_counter", "shm_counter"),
        example: "shm_counter",
        test_targets: &["shm_counter", "c"],
        tests: &[
            "the_mutex_counts_every_increment",
            "without_protection_the_arithmetic_of_lost_updates_holds",
            "trace_prints_every_value_once_in_order_under_the_lock",
            "two_unrelated_processes_share_a_named_counter",
            "a_c_first_and_a_rust_second_share_the_counter",
            "a_rust_first_and_a_c_second_share_the_counter",
            "a_raw_sync_mutex_whose_owner_was_killed_is_one_line_not_a_hang",
        ],
        solution: "crates/shm_counter/src/ops.rs",
        c: "crates/shm_counter/c/shm_counter.c",
        chapter: "docs/src/shm_counter.md",
    },
    Exercise {
        id: 11,
        dir: "11_counter_atomic",
        title: "the same counter with no lock: a load and a store lose updates, fetch_add loses none",
        program: ("ex11_shm_counter", "shm_counter"),
        example: "shm_counter",
        test_targets: &["shm_counter"],
        tests: &[
            "fetch_add_counts_every_increment",
            "without_protection_the_arithmetic_of_lost_updates_holds",
        ],
        solution: "crates/shm_counter/src/ops.rs",
        c: "crates/shm_counter/c/shm_counter.c",
        chapter: "docs/src/shm_counter.md",
    },
    Exercise {
        id: 12,
        dir: "12_robust_mutex",
        title: "a robust mutex that survives an owner killed holding it (EOWNERDEAD, pthread_mutex_consistent)",
        program: ("ex12_shm_counter", "shm_counter"),
        example: "shm_counter",
        test_targets: &["shm_counter", "reliability"],
        tests: &[
            "the_robust_mutex_counts_every_increment",
            "a_robust_mutex_survives_an_owner_killed_holding_it",
            "a_robust_lock_held_after_the_partner_is_gone_is_given_up",
        ],
        solution: "crates/shm_counter/src/ops.rs",
        c: "crates/shm_counter/c/shm_counter.c",
        chapter: "docs/src/shm_counter.md",
    },
    Exercise {
        id: 13,
        dir: "13_ring_futex",
        title: "the ring buffer's futex handoff: sleep on a word until the other process changes it (FUTEX_WAIT, FUTEX_WAKE)",
        program: ("ex13_ipc_bench", "ipc_bench"),
        example: "ipc_bench",
        test_targets: &["ipc_bench", "reliability"],
        tests: &[
            "quick_run_reports_every_transport_and_draws_the_chart",
            "json_has_every_figure",
            "sigint_or_sigterm_ends_the_run_within_a_second_and_leaves_nothing",
        ],
        solution: "crates/ipc_bench/src/futex.rs",
        c: "crates/ipc_bench/c/futex_handoff.c",
        chapter: "docs/src/benchmark.md",
    },
];
