/*
 * memfd_shrink.c: why memfd_read insists on F_SEAL_SHRINK.
 *
 * Beyond the notes; written for this project beside the Rust port ../src/bin/memfd_shrink.rs,
 * chapter docs/src/memfd_share.md. It is filesize_vs_mapsize's lesson (a mapping past the
 * end of its file raises SIGBUS) with a hostile writer in it.
 *
 * It makes the people memfd twice, maps it as a reader would, and has the writer shrink it to
 * nothing (ftruncate(fd, 0)) under the mapping. Each read of the last record runs in a forked
 * child (as filesize_vs_mapsize's probes do), standing for the reader's next access, so that
 * the parent lives on to report it:
 *
 *     $ ./memfd_shrink
 *     without seals:
 *       reader reads record 10: age 29
 *       writer: ftruncate(fd, 0): done
 *       reader reads record 10: SIGBUS
 *     with F_SEAL_SHRINK:
 *       reader reads record 10: age 29
 *       writer: ftruncate(fd, 0): Operation not permitted
 *       reader reads record 10: age 29
 *
 * The same lines as the Rust, on stdout and stderr. Linux only (memfd_create, file seals);
 * elsewhere main says so in one line.
 *
 * Exit status: 0 done, 1 a call failed or a read did not do what is shown above, 2 bad
 * arguments.
 */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <stdio.h>

#ifdef __linux__
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "memfd_share.h"

/* The byte the reader reads: the low byte of record 10's age (29). */
#define LAST_AGE ((RECORDS - 1) * sizeof(people) + offsetof(people, age))

/* Forks a child that reads the byte at p: the reader's next access. Returns the byte read, or
 * minus the signal that killed the child. */
static int probe(const volatile unsigned char *p)
{
    fflush(stdout); /* a buffer copied by fork would be printed twice */
    pid_t pid = fork();
    if (pid == -1)
        ERR_EXIT("fork");
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL); /* die of the fault, quietly */
        signal(SIGSEGV, SIG_DFL);
        /* A fault here is the expected answer, not a crash to keep: no core dump (it holds
         * even where core_pattern pipes cores to a collector, which ignores RLIMIT_CORE). */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        _exit(*p);
    }
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            ERR_EXIT("waitpid");
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

/* Reads the byte at p in a forked child and prints what happened. */
static int report(const unsigned char *p)
{
    int r = probe(p);
    if (r >= 0)
        printf("  reader reads record 10: age %d\n", r);
    else if (r == -SIGBUS || r == -SIGSEGV)
        printf("  reader reads record 10: %s\n", r == -SIGBUS ? "SIGBUS" : "SIGSEGV");
    else
        printf("  reader reads record 10: signal %d\n", -r);
    return r;
}

/* Makes the people memfd with `seals`, maps it, shrinks it, and returns what the reader's
 * read after the shrink did. */
static int shrink_under_reader(int seals)
{
    // ANCHOR: setup
    int fd = memfd_create("people", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd == -1)
        ERR_EXIT("memfd_create people");
    if (ftruncate(fd, SIZE) == -1)
        ERR_EXIT("ftruncate memfd");
    reserve(fd, SIZE, "memfd"); /* common.h: posix_fallocate */
    people records[RECORDS];
    memset(records, 0, sizeof records);
    for (int i = 0; i < RECORDS; i++) { /* a aged 20, b aged 21, ... j aged 29 */
        records[i].name[0] = 'a' + i;
        records[i].age = 20 + i;
    }
    ssize_t n = pwrite(fd, records, SIZE, 0);
    if (n == -1)
        ERR_EXIT("pwrite memfd");
    if (n != (ssize_t)SIZE)
        ERRX_EXIT("pwrite memfd: failed to write whole buffer");
    if (seals && fcntl(fd, F_ADD_SEALS, seals) == -1)
        ERR_EXIT("fcntl F_ADD_SEALS");
    // ANCHOR_END: setup

    // ANCHOR: reader
    /* The reader's mapping: 80 bytes of a file that is 80 bytes now, mapped read-only. This
     * program reads it only through probe, in a child, because the file is about to shrink
     * under it. */
    const unsigned char *p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        ERR_EXIT("mmap memfd");
    report(p + LAST_AGE);
    // ANCHOR_END: reader

    // ANCHOR: shrink
    /* The writer: any process holding the descriptor. */
    if (ftruncate(fd, 0) == 0)
        printf("  writer: ftruncate(fd, 0): done\n");
    else
        printf("  writer: ftruncate(fd, 0): %s\n", strerror(errno));
    int after = report(p + LAST_AGE);
    // ANCHOR_END: shrink

    if (munmap((void *)p, SIZE) == -1)
        ERR_EXIT("munmap memfd");
    close(fd);
    return after;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        USAGE_EXIT("memfd_shrink");
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out at once, even into a pipe */
    printf("without seals:\n");
    int died = shrink_under_reader(0);
    printf("with F_SEAL_SHRINK:\n");
    int lived = shrink_under_reader(F_SEAL_SHRINK);
    if (!(died < 0 && lived == 29))
        ERRX_EXIT("probe: the reads did not end as the chapter says");
    return 0;
}

#else /* not Linux */
#include <stdlib.h>
int main(void)
{
#ifdef __APPLE__ /* the Rust port's line where there is no memfd */
    fputs("memfd_shrink: memfd_create is not available on macos; the near-equivalent is "
          "shm_open with a random name and shm_unlink at once (docs/src/memfd_share.md)\n",
          stderr);
#else
    fputs("memfd_shrink: this C program needs Linux; the Rust port runs here\n", stderr);
#endif
    return EXIT_FAILURE;
}
#endif
