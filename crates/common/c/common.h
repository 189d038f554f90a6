/*
 * common.h: what every C program of shm-by-example shares, and nothing else.
 *
 * The notes' `people` record (seed 002; seed 003 calls it `STU`); ERR_EXIT, the notes'
 * error macro made to print one line in the same shape as the Rust ports; and the two steps
 * every program that writes a file needs (create_own, reserve):
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

/* create_own(path, mode): the open of a file this program writes, made safe for a shared
 * directory such as /tmp: O_NOFOLLOW refuses a symlink planted under the name, O_NONBLOCK
 * keeps a FIFO from blocking the open, and the file is emptied only after fstat has shown a
 * regular file of the caller's (O_TRUNC would empty another user's file we can write).
 * map_normalfile1.c makes these calls one by one; the other programs call this. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int create_own(const char *path, mode_t mode)
{
    int fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_NONBLOCK, mode);
    if (fd == -1)
        ERR_EXIT("open %s", path);
    struct stat st;
    if (fstat(fd, &st) == -1)
        ERR_EXIT("fstat %s", path);
    if (!S_ISREG(st.st_mode))
        ERRX_EXIT("open %s: not a regular file", path);
    if (st.st_uid != geteuid())
        ERRX_EXIT("open %s: owned by another user; not truncated", path);
    if (ftruncate(fd, 0) == -1)
        ERR_EXIT("ftruncate %s", path);
    return fd;
}

/* reserve(fd, len, path): posix_fallocate, so that a store into a new mapping on a full
 * filesystem is an error here instead of SIGBUS there (ftruncate reserves nothing).
 * posix_fallocate returns its error instead of setting errno. */
static inline void reserve(int fd, off_t len, const char *path)
{
    int rc = posix_fallocate(fd, 0, len);
    if (rc != 0) {
        errno = rc;
        ERR_EXIT("fallocate %s", path);
    }
}

#endif
