/*
 * filesize_vs_mapsize.c: what an access does when a mapping is larger, or smaller, than its
 * file.
 *
 * Seed 000 §B, "当映射的内存大于文件大小？" (a mapping larger than the file?), and its example
 * 5_ex_shm_test_filesize_mmapsize.c, which the notes name but do not include: UNP vol. 2's
 * test1.c (§12.6), written again for this project. The Rust port is ../src/main.rs, chapter
 * docs/src/filesize_vs_mapsize.md.
 *
 * It makes FILE FILESIZE bytes long, maps MAPSIZE bytes of it, and touches the first and the
 * last byte of every page up to the larger size, then the first byte after. UNP's program
 * dies at the first fault; this one makes each access in a forked child, so that every access
 * is reported: the byte read, SIGBUS (in the mapping but past the file's last page) or
 * SIGSEGV (past the mapping). Without arguments it runs the notes' two cases, 5000/15000 and
 * 15000/5000, in a temp file with no name (O_TMPFILE).
 *
 *     $ ./filesize_vs_mapsize /tmp/f 5000 15000
 *     filesize = 5000, mapsize = 15000
 *     PAGESIZE = 4096
 *     ptr[0] = 0           in the file
 *     ...
 *     ptr[8192] = SIGBUS   in the mapping, past the last page of the file
 *
 * Not in UNP: a PROT_NONE reservation one page larger than the larger size, with the file
 * mapped over its start (MAP_FIXED), so that the page past the mapping is certain to fault
 * (UNP touches whatever the loader put there); posix_fallocate of the file, so that a full
 * disk is an error and not a SIGBUS that passes for the lesson's. The Rust port also draws a
 * picture of the pages, and holds Ctrl-C until the temp file is gone; this one does neither.
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

#define MAX_PAGES 63 /* each access is a fork: more pages are a usage error */

/* Forks a child that reads the byte at p and stores 1 there. Returns the byte read, or
 * minus the signal that killed the child. */
static int probe(volatile unsigned char *p)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1)
        ERR_EXIT("fork");
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* die of the fault, quietly */
        signal(SIGBUS, SIG_DFL);
        unsigned char c = *p;
        *p = 1;
        _exit(c);
    }
    int status;
    if (waitpid(pid, &status, 0) == -1)
        ERR_EXIT("waitpid");
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

static void test(int fd, const char *path, long filesize, long mapsize)
{
    long pagesize = sysconf(_SC_PAGESIZE);

    // ANCHOR: size
    if (ftruncate(fd, 0) == -1) /* the O_TRUNC of the open, again for the second case */
        ERR_EXIT("ftruncate %s", path);
    if (filesize > 0) {
        if (lseek(fd, filesize - 1, SEEK_SET) == -1)
            ERR_EXIT("lseek %s", path);
        if (write(fd, "", 1) != 1)
            ERR_EXIT("write %s", path);
        reserve(fd, filesize, path); /* not in UNP: no holes */
    }
    // ANCHOR_END: size

    // ANCHOR: mmap
    long pages = ((filesize > mapsize ? filesize : mapsize) + pagesize - 1) / pagesize;
    size_t reserved = (pages + 1) * pagesize; /* not in UNP: see the header */
    char *base = mmap(NULL, reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
    if (base == MAP_FAILED)
        ERR_EXIT("mmap PROT_NONE");
    char *ptr = mmap(base, mapsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (ptr == MAP_FAILED)
        ERR_EXIT("mmap %s", path);
    printf("filesize = %ld, mapsize = %ld\n", filesize, mapsize);
    printf("PAGESIZE = %ld\n", pagesize);
    // ANCHOR_END: mmap

    // ANCHOR: probe
    for (long i = 0; i <= pages * pagesize; i += pagesize) {
        long offsets[2] = {i, i + pagesize - 1};
        for (int k = 0; k < (i < pages * pagesize ? 2 : 1); k++) {
            long off = offsets[k]; /* below pages * pagesize + 1: inside the reservation */
            int r = probe((unsigned char *)ptr + off);
            char line[64];
            if (r >= 0)
                snprintf(line, sizeof line, "ptr[%ld] = %d", off, r);
            else
                snprintf(line, sizeof line, "ptr[%ld] = %s", off,
                         r == -SIGBUS ? "SIGBUS" : r == -SIGSEGV ? "SIGSEGV" : "a signal");
            const char *why = r >= 0 && off < filesize ? "in the file"
                              : r >= 0 ? "past the end of the file, in its last page: not "
                                         "written to the file"
                              : r == -SIGBUS  ? "in the mapping, past the last page of the file"
                              : r == -SIGSEGV ? "past the end of the mapping"
                                              : "unexpected signal";
            printf("%-20s %s\n", line, why);
        }
    }
    // ANCHOR_END: probe

    // ANCHOR: munmap
    if (munmap(base, reserved) == -1) /* the file mapping in it goes too */
        ERR_EXIT("munmap");
    // ANCHOR_END: munmap
}

static long size_arg(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    long pagesize = sysconf(_SC_PAGESIZE);
    if (errno || *end != '\0' || end == s || n < 0 || n > (long long)MAX_PAGES * pagesize)
        USAGE_EXIT("%s must be a number of bytes, at most %d pages, not %s", what, MAX_PAGES, s);
    return (long)n;
}

int main(int argc, char **argv)
{
    if (argc == 1) { /* the notes' two cases, in a file with no name */
        const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        int fd = open(dir, O_TMPFILE | O_RDWR, 0600);
        if (fd == -1)
            ERR_EXIT("open a temp file in %s", dir);
        test(fd, dir, 5000, 15000);
        printf("\n");
        test(fd, dir, 15000, 5000);
        return 0;
    }
    if (argc != 4)
        USAGE_EXIT("filesize_vs_mapsize [FILE FILESIZE MAPSIZE]");
    long filesize = size_arg(argv[2], "FILESIZE"), mapsize = size_arg(argv[3], "MAPSIZE");
    if (mapsize == 0)
        USAGE_EXIT("MAPSIZE must be at least 1: mmap refuses a length of 0");

    // ANCHOR: open
    /* UNP: O_RDWR | O_CREAT | O_TRUNC; here as map_normalfile1.c opens (common.h) */
    int fd = create_own(argv[1], 0644);
    // ANCHOR_END: open

    test(fd, argv[1], filesize, mapsize);
    close(fd);
    return 0;
}
