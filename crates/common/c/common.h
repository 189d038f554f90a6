/*
 * common.h: what every C program of shm-by-example shares, and nothing else.
 *
 * The notes' `people` record (seed 002; seed 003 calls it `STU`), and ERR_EXIT, the notes'
 * error macro made to print one line in the same shape as the Rust ports:
 *
 *     map_normalfile2: open /tmp/missing: No such file or directory
 *
 * The notes' ERR_EXIT is `perror(m); exit(EXIT_FAILURE);`. err(3) prints the program's name
 * first, then the message, then strerror(errno), and exits; errx(3) leaves out strerror, for a
 * check that is not a failed call. Both are in glibc, musl, macOS and the BSDs.
 *
 * Built by `make c` (cc -std=c11 -Wall -Wextra -Werror -O2 -I crates/common/c).
 */
#ifndef SHM_BY_EXAMPLE_COMMON_H
#define SHM_BY_EXAMPLE_COMMON_H

#include <err.h>
#include <errno.h>
#include <stdlib.h>

/* The shared record: 4 name bytes, then an int at offset 4; 8 bytes, no padding. A name of 4
 * letters fills the field and has no NUL: print it with "%.4s", never "%s". */
typedef struct {
    char name[4];
    int age;
} people;

_Static_assert(sizeof(people) == 8, "people is 8 bytes, as the Rust People");

/* ERR_EXIT("open %s", path): "prog: open PATH: strerror(errno)", exit status 1. */
#define ERR_EXIT(...) err(EXIT_FAILURE, __VA_ARGS__)
/* ERRX_EXIT("%s: file is too short", path): the same line without errno's text. */
#define ERRX_EXIT(...) errx(EXIT_FAILURE, __VA_ARGS__)

/* Bad arguments: the usage line on stderr, exit status 2 (as the Rust ports). */
#define USAGE_EXIT(...)                                                                        \
    do {                                                                                       \
        errx(2, "usage: " __VA_ARGS__);                                                        \
    } while (0)

#endif
