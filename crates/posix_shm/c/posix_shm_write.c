/*
 * posix_shm_write.c: the writer of the POSIX shared-memory pair.
 *
 * Seed 003 §3.2 ("posix共享内存"), written again for this project, in C (the notes' program
 * is C++: `student*` without `struct`); the Rust port is ../src/bin/posix_shm_write.rs,
 * chapter docs/src/posix_shm.md.
 *
 * It creates the shared-memory object /xyz, makes it one `struct student` long, prints its
 * size and mode, maps it and writes "test" and 29. The notes then unlink the object at once,
 * so that no other process can open it; this program leaves it for posix_shm_read, which
 * prints the record and unlinks it. --unlink does what the notes do.
 *
 *     $ ./posix_shm_write && ./posix_shm_read
 *     size=36, mode=0600
 *     size=36, mode=0600
 *     name:test, age:29
 *
 * Options the notes' program lacks, spelled as in the Rust: --name NAME instead of /xyz,
 * --unlink, --new (a taken name is an error, not an object to write into) and --wait-stdin
 * (stay mapped until a line arrives on stdin), for scripts and tests (make run-posix-shm
 * IMPL=c). The Rust port also holds Ctrl-C until it has cleaned up; this one does not.
 *
 * Fixed from the notes (marked "notes:"): mode 0666, "%d" for an off_t and for a mode,
 * PROT_WRITE alone for memory it reads, ftruncate without reserving the page (a full
 * /dev/shm then kills the first store with SIGBUS), no munmap or close, and a name always
 * unlinked so the object is never read. Added: O_EXCL (a failure unlinks the object this run
 * created), and fstat before writing, so that an object of another size, or not a regular
 * file, is left alone.
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

static const char *name = "/xyz";
static int created;

/* A failure after this program created the object unlinks it again, then exits. */
static void cleanup(void)
{
    if (created)
        shm_unlink(name);
}

int main(int argc, char **argv)
{
    int unlink_it = 0, new = 0, wait_stdin = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--unlink") == 0)
            unlink_it = 1;
        else if (strcmp(argv[i], "--new") == 0)
            new = 1;
        else if (strcmp(argv[i], "--wait-stdin") == 0)
            wait_stdin = 1;
        else
            USAGE_EXIT("posix_shm_write [--name NAME] [--unlink] [--new] [--wait-stdin]");
    }
    atexit(cleanup);

    // ANCHOR: shm_open
    /* notes: 0666. O_NONBLOCK: a FIFO planted under the name must not block the open. */
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0600);
    if (fd != -1)
        created = 1;
    else if (errno == EEXIST && !new)
        fd = shm_open(name, O_RDWR | O_NONBLOCK, 0); /* taken: judged below */
    if (fd == -1)
        ERR_EXIT("shm_open %s", name);
    // ANCHOR_END: shm_open

    // ANCHOR: check
    /* notes: none. An object found under the name must be one record, or it is not ours. */
    struct stat buf;
    if (fstat(fd, &buf) == -1)
        ERR_EXIT("fstat %s", name);
    if (!S_ISREG(buf.st_mode))
        ERRX_EXIT("shm_open %s: not a regular file", name);
    if (!created && buf.st_size != sizeof(struct student))
        ERRX_EXIT("shm_open %s: an object of %lld bytes has this name, not one %zu-byte "
                  "student record; left alone",
                  name, (long long)buf.st_size, sizeof(struct student));
    // ANCHOR_END: check

    // ANCHOR: ftruncate
    if (ftruncate(fd, sizeof(struct student)) == -1)
        ERR_EXIT("ftruncate %s", name);
    /* notes: none. ftruncate reserves no page; a store into a page a full /dev/shm cannot
     * give raises SIGBUS. */
    reserve(fd, sizeof(struct student), name);
    // ANCHOR_END: ftruncate

    // ANCHOR: fstat
    if (fstat(fd, &buf) == -1)
        ERR_EXIT("fstat %s", name);
    printf("size=%lld, mode=%04o\n", (long long)buf.st_size, /* notes: %d, %d */
           (unsigned)(buf.st_mode & 0777));
    // ANCHOR_END: fstat

    // ANCHOR: mmap
    /* notes: PROT_WRITE alone. */
    struct student *p = mmap(NULL, buf.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        ERR_EXIT("mmap %s", name);
    // ANCHOR_END: mmap

    // ANCHOR: write
    memset(p->name, 0, sizeof p->name);
    memcpy(p->name, "test", 4);
    p->age = 29;
    // ANCHOR_END: write

    // ANCHOR: hold
    if (wait_stdin) {
        printf("written; mapped until a line arrives on stdin\n");
        fflush(stdout);
        int c;
        while ((c = getchar()) != EOF && c != '\n')
            ;
    }
    // ANCHOR_END: hold

    // ANCHOR: unmap
    if (munmap(p, buf.st_size) == -1) /* notes: left to exit */
        ERR_EXIT("munmap %s", name);
    close(fd);
    /* notes: always, at once, so that no reader ever opens the object */
    if (unlink_it && shm_unlink(name) == -1)
        ERR_EXIT("shm_unlink %s", name);
    created = 0; /* the object stays for posix_shm_read (or is gone) */
    // ANCHOR_END: unmap
    return 0;
}
