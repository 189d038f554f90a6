/*
 * map_grow_file.c: map a region much larger than a file, and use more of it as the file
 * grows.
 *
 * Seed 000 §B, "如何映射一个持续增长的文件？" (how to map a file that keeps growing?), and
 * its example 6_ex_shm_test2_map_inc_file.c, which the notes name but do not include: UNP
 * vol. 2's test2.c (§12.6), written again for this project. The Rust port is ../src/main.rs,
 * chapter docs/src/map_grow_file.md.
 *
 * It maps 8 pages of an empty file, then grows the file a page at a time with ftruncate.
 * Before each growth the next page raises SIGBUS (mapped, but no file page behind it); after
 * it the page reads 0, and 1 is stored there. Each access is made in a forked child, so that
 * the SIGBUS is reported instead of ending the program. Without FILE it uses a temp file with
 * no name (O_TMPFILE) instead of UNP's test.data.
 *
 *     $ ./map_grow_file
 *     ptr[4095] = SIGBUS   before: the file is 0 bytes
 *     setting file size to 4096
 *     ptr[4095] = 0
 *     ...
 *
 * Not in UNP: the access before each growth, the store after it, posix_fallocate after each
 * ftruncate (a full disk is then an error, not a SIGBUS that passes for the lesson's), and a
 * last line that counts the bytes of 1 in the file. The Rust port's --append and --follow (a
 * writer and a tail -f reader of a growing file) have no C here.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define PAGES 8

/* Forks a child that reads the byte at p (and stores `store` there if it is not -1).
 * Returns the byte read, or minus the signal that killed the child. */
static int probe(volatile unsigned char *p, int store)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1)
        ERR_EXIT("fork");
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL); /* die of the fault, quietly */
        unsigned char c = *p;
        if (store != -1)
            *p = (unsigned char)store;
        _exit(c);
    }
    int status;
    if (waitpid(pid, &status, 0) == -1)
        ERR_EXIT("waitpid");
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
        USAGE_EXIT("map_grow_file [FILE]");
    const char *path = argc == 2 ? argv[1] : NULL;
    long pagesize = sysconf(_SC_PAGESIZE);
    size_t size = PAGES * pagesize;

    // ANCHOR: open
    int fd;
    if (path) { /* UNP: O_RDWR | O_CREAT | O_TRUNC; here as map_normalfile1.c opens */
        fd = create_own(path, 0644);
    } else {
        path = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        fd = open(path, O_TMPFILE | O_RDWR, 0600);
        if (fd == -1)
            ERR_EXIT("open a temp file in %s", path);
    }
    // ANCHOR_END: open

    // ANCHOR: mmap
    /* The file is 0 bytes: every page of the mapping lies past its end, for now. */
    unsigned char *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ptr == MAP_FAILED)
        ERR_EXIT("mmap %s", path);
    // ANCHOR_END: mmap

    // ANCHOR: grow
    for (size_t i = pagesize; i <= size; i += pagesize) {
        int before = probe(ptr + i - 1, -1); /* i - 1 < size: inside the mapping */
        char line[64];
        if (before >= 0)
            snprintf(line, sizeof line, "ptr[%zu] = %d", i - 1, before);
        else
            snprintf(line, sizeof line, "ptr[%zu] = %s", i - 1,
                     before == -SIGBUS ? "SIGBUS" : "a signal");
        printf("%-20s before: the file is %zu bytes\n", line, i - pagesize);

        printf("setting file size to %zu\n", i);
        if (ftruncate(fd, i) == -1)
            ERR_EXIT("ftruncate %s", path);
        reserve(fd, i, path); /* not in UNP */
        int after = probe(ptr + i - 1, 1);
        if (after >= 0)
            printf("ptr[%zu] = %d\n", i - 1, after);
        else
            printf("ptr[%zu] = %s\n", i - 1, after == -SIGBUS ? "SIGBUS" : "a signal");
    }
    // ANCHOR_END: grow

    // ANCHOR: check
    if (munmap(ptr, size) == -1)
        ERR_EXIT("munmap");
    /* Not in UNP: what the stores through the mapping left in the file, read(2) back. */
    unsigned char buf[4096];
    size_t total = 0, ones = 0;
    ssize_t n;
    if (lseek(fd, 0, SEEK_SET) == -1)
        ERR_EXIT("lseek %s", path);
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        total += n;
        for (ssize_t k = 0; k < n; k++)
            ones += buf[k] == 1;
    }
    if (n == -1)
        ERR_EXIT("read %s", path);
    printf("the file is %zu bytes; it holds the %zu bytes of 1 written through the mapping\n",
           total, ones);
    close(fd);
    // ANCHOR_END: check
    return 0;
}
