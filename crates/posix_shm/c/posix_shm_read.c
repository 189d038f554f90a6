/*
 * posix_shm_read.c: the reader of the POSIX shared-memory pair.
 *
 * Seed 003 §3.2 has only a writer, which unlinks its object at once; this is the reader it
 * needs, written for this project beside the Rust port ../src/bin/posix_shm_read.rs
 * (chapter docs/src/posix_shm.md). It opens the object by name, prints its size and mode and
 * the record, and unlinks it, the way seed 003's System V reader removes its segment.
 *
 *     $ ./posix_shm_read
 *     size=36, mode=0600
 *     name:test, age:29
 *
 * One option, as in the Rust: --name NAME instead of /xyz. The Rust port also refuses an
 * object with a hole (a page never written, which a full /dev/shm cannot give a mapping),
 * and holds Ctrl-C until the object is unlinked; this one does neither.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

struct student {
    char name[32];
    int age;
};

int main(int argc, char **argv)
{
    const char *name = "/xyz";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else
            USAGE_EXIT("posix_shm_read [--name NAME]");
    }

    // ANCHOR: shm_open
    /* No O_CREAT: never make an empty object. O_NONBLOCK: a FIFO must not block. */
    int fd = shm_open(name, O_RDONLY | O_NONBLOCK, 0);
    if (fd == -1 && errno == ENOENT)
        ERRX_EXIT("shm_open %s: %s; run posix_shm_write first", name, strerror(errno));
    if (fd == -1)
        ERR_EXIT("shm_open %s", name);
    // ANCHOR_END: shm_open

    // ANCHOR: fstat
    struct stat buf;
    if (fstat(fd, &buf) == -1)
        ERR_EXIT("fstat %s", name);
    if (!S_ISREG(buf.st_mode))
        ERRX_EXIT("shm_open %s: not a regular file", name);
    printf("size=%lld, mode=%04o\n", (long long)buf.st_size, (unsigned)(buf.st_mode & 0777));
    if (buf.st_size != sizeof(struct student))
        ERRX_EXIT("shm_open %s: the object is %lld bytes, not one %zu-byte student record; "
                  "left alone",
                  name, (long long)buf.st_size, sizeof(struct student));
    // ANCHOR_END: fstat

    // ANCHOR: mmap
    const struct student *p = mmap(NULL, sizeof *p, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        ERR_EXIT("mmap %s", name);
    // ANCHOR_END: mmap

    // ANCHOR: read
    printf("name:%.32s, age:%d\n", p->name, p->age);
    // ANCHOR_END: read

    // ANCHOR: unmap
    if (munmap((void *)p, sizeof *p) == -1)
        ERR_EXIT("munmap %s", name);
    close(fd);
    // ANCHOR_END: unmap

    // ANCHOR: shm_unlink
    if (shm_unlink(name) == -1) /* without it the object stays in /dev/shm until reboot */
        ERR_EXIT("shm_unlink %s", name);
    // ANCHOR_END: shm_unlink
    return 0;
}
