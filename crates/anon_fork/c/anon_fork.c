/*
 * anon_fork.c: a parent and its child share memory through a mapping made before fork.
 *
 * Seed 002 ("mmap范例", example 2), written again for this project, with the variants of
 * seed 004 (map /dev/zero where MAP_ANONYMOUS is missing) and seed 001 (demo1: a file
 * mapping inherited across fork). The Rust port is ../src/main.rs, chapter
 * docs/src/anon_fork.md.
 *
 * The parent maps 10 `people` records MAP_SHARED | MAP_ANONYMOUS and forks. The child
 * inherits the mapping: the same pages, not a copy. The parent writes ages 20..24, the child
 * reads them and sets the first to 100, and the parent reads 100 back.
 *
 *     $ ./anon_fork
 *     child read: the 1 people's age is 20
 *     ...
 *     parent read: the first people's age is 100
 *     umap
 *     umap ok
 *
 * Options, as in the Rust: --private (MAP_PRIVATE: the child reads zeros, the parent keeps
 * 20), --dev-zero (map /dev/zero), --file PATH (map a file, created 0644).
 *
 * Fixed from the notes (marked "notes:"): no error checks; sleep(2) and sleep(5) to order
 * the two processes (here a pipe, then waitpid); memcpy of 2 bytes out of a 1-byte char;
 * output buffered across fork (printed twice when stdout is a file); a child whose failure
 * the parent never sees.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define RECORDS 10
#define USED 5

/* What the mapping is made of: -1 for MAP_ANONYMOUS, /dev/zero, or a file of len bytes. */
static int open_backing(int dev_zero, const char *path, size_t len)
{
    if (dev_zero) {
        int fd = open("/dev/zero", O_RDWR);
        if (fd == -1)
            ERR_EXIT("open /dev/zero");
        return fd;
    }
    if (path == NULL)
        return -1;
    int fd = create_own(path, 0644); /* as map_normalfile1.c: safe in a shared directory */
    if (ftruncate(fd, len) == -1)
        ERR_EXIT("ftruncate %s", path);
    reserve(fd, len, path); /* a full filesystem: an error here, not SIGBUS */
    return fd;
}

int main(int argc, char **argv)
{
    int private = 0, dev_zero = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--private") == 0)
            private = 1;
        else if (strcmp(argv[i], "--dev-zero") == 0)
            dev_zero = 1;
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            path = argv[++i];
        else
            USAGE_EXIT("anon_fork [--private] [--dev-zero | --file PATH]");
    }
    if (dev_zero && path)
        USAGE_EXIT("anon_fork [--private] [--dev-zero | --file PATH]");
    size_t len = sizeof(people) * RECORDS;
    int fd = open_backing(dev_zero, path, len);

    // ANCHOR: mmap
    int flags = (private ? MAP_PRIVATE : MAP_SHARED) | (fd == -1 ? MAP_ANONYMOUS : 0);
    people *p_map = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (p_map == MAP_FAILED)
        ERR_EXIT("mmap");
    if (fd != -1)
        close(fd); /* the mapping keeps the file (or /dev/zero) referenced */
    // ANCHOR_END: mmap

    // ANCHOR: fork
    int ready[2]; /* notes: none; the child waits here for the parent's records */
    if (pipe(ready) == -1)
        ERR_EXIT("pipe");
    fflush(stdout); /* notes: none; a buffer copied by fork would be printed twice */
    pid_t pid = fork();
    if (pid == -1)
        ERR_EXIT("fork");
    // ANCHOR_END: fork

    // ANCHOR: child
    if (pid == 0) {
        close(ready[1]);
        char c;
        if (read(ready[0], &c, 1) != 1) /* notes: sleep(2); EOF: the parent died first */
            ERRX_EXIT("child: read pipe: the parent went away");
        for (int i = 0; i < USED; i++)
            printf("child read: the %d people's age is %d\n", i + 1, p_map[i].age);
        p_map[0].age = 100;
        if (fflush(stdout) == EOF || munmap(p_map, len) == -1)
            ERR_EXIT("child");
        _exit(0); /* notes: exit(0), which would also run the parent's atexit handlers */
    }
    // ANCHOR_END: child

    // ANCHOR: parent
    close(ready[0]);
    for (int i = 0; i < USED; i++) {
        memset(p_map[i].name, 0, sizeof p_map[i].name); /* notes: memcpy(.., &temp, 2) */
        p_map[i].name[0] = (char)('b' + i);
        p_map[i].age = 20 + i;
    }
    if (write(ready[1], "!", 1) != 1) /* notes: sleep(5), and hope */
        ERR_EXIT("write pipe");
    close(ready[1]);
    int status;
    if (waitpid(pid, &status, 0) == -1)
        ERR_EXIT("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ERRX_EXIT("child: did not finish its part (wait status %#x)", status);
    // ANCHOR_END: parent

    // ANCHOR: unmap
    printf("parent read: the first people's age is %d\n", p_map[0].age);
    printf("umap\n");
    if (munmap(p_map, len) == -1)
        ERR_EXIT("munmap");
    printf("umap ok\n");
    // ANCHOR_END: unmap
    return 0;
}
