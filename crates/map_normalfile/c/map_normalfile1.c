/*
 * map_normalfile1.c: the writer of the file-mapping pair.
 *
 * Seed 002 ("mmap范例", example 1), map_normalfile1.c, written again for this project; the
 * Rust port is ../src/bin/map_normalfile1.rs, chapter docs/src/map_normalfile.md.
 *
 * It makes FILE 5 `people` records long, maps 10 records of it MAP_SHARED, fills all 10, and
 * holds the mapping for 10 seconds, so that map_normalfile2, an unrelated process, can map
 * the same file and print them. All 10 are visible while the page is in memory, though the
 * file holds only 5.
 *
 *     $ ./map_normalfile1 /var/tmp/test_shm        (another terminal, within 10 s:)
 *     initialize over                              $ ./map_normalfile2 /var/tmp/test_shm
 *     umap ok
 *
 * One option the notes' program lacks: --wait-stdin holds the mapping until a line (or end
 * of file) arrives on stdin instead of sleeping 10 seconds, so that scripts and tests release
 * it on an event (make run-map-normalfile IMPL=c).
 *
 * Fixed from the notes (each marked "notes:" below): mode 0777, O_TRUNC, no error checks,
 * a name written with sprintf, no fflush before the sleep, no msync. Added: posix_fallocate,
 * O_NOFOLLOW, and a check that FILE is a regular file of the caller's before truncating it
 * (create_own and reserve, in common.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

#define FILE_RECORDS 5
#define MAP_RECORDS 10

int main(int argc, char **argv)
{
    int wait_stdin = argc == 3 && strcmp(argv[1], "--wait-stdin") == 0;
    if (argc != 2 + wait_stdin)
        USAGE_EXIT("map_normalfile1 [--wait-stdin] FILE");
    const char *path = argv[argc - 1];

    // ANCHOR: open
    /* notes: open(path, O_CREAT | O_RDWR | O_TRUNC, 00777), with fd == 1 as its check.
     * Nothing here is executable, and only the owner writes it. create_own (common.h) makes
     * the open safe in a shared directory such as /tmp: O_NOFOLLOW refuses a planted symlink,
     * O_NONBLOCK keeps a FIFO from blocking, and the file is emptied (ftruncate) only once
     * fstat has shown a regular file of the caller's: O_TRUNC would empty another user's. */
    int fd = create_own(path, 0644);
    // ANCHOR_END: open

    // ANCHOR: size
    /* The file becomes 5 records (40 bytes) long: write its last byte. */
    if (lseek(fd, sizeof(people) * FILE_RECORDS - 1, SEEK_SET) == -1)
        ERR_EXIT("lseek %s", path);
    if (write(fd, " ", 1) != 1)
        ERR_EXIT("write %s", path);
    /* Not in the notes: reserve the file's blocks now, or a store into the mapping on a full
     * filesystem raises SIGBUS (common.h: posix_fallocate). */
    reserve(fd, sizeof(people) * FILE_RECORDS, path);
    // ANCHOR_END: size

    // ANCHOR: mmap
    /* Twice the file's length: the kernel maps the whole page, so records 6..10 are memory
     * that other mappings share, but they lie past the end of the file. */
    people *p_map = mmap(NULL, sizeof(people) * MAP_RECORDS, PROT_READ | PROT_WRITE,
                         MAP_SHARED, fd, 0);
    if (p_map == MAP_FAILED)
        ERR_EXIT("mmap %s", path);
    close(fd); /* the mapping keeps its own reference to the file */
    // ANCHOR_END: mmap

    // ANCHOR: fill
    for (int i = 0; i < MAP_RECORDS; i++) {
        memset(p_map[i].name, 0, sizeof p_map[i].name); /* notes: sprintf("%c") */
        p_map[i].name[0] = (char)('a' + i);
        p_map[i].age = 20 + i;
    }
    printf("initialize over\n");
    fflush(stdout); /* notes: none; on a pipe the line would wait in the buffer */
    // ANCHOR_END: fill

    // ANCHOR: hold
    if (wait_stdin) {
        int c;
        while ((c = getchar()) != EOF && c != '\n')
            ;
    } else {
        sleep(10);
    }
    // ANCHOR_END: hold

    // ANCHOR: unmap
    /* notes: none. Write the page to the file now; on a disk this clears records 6..10,
     * which lie past the end of the file. */
    if (msync(p_map, sizeof(people) * MAP_RECORDS, MS_SYNC) == -1)
        ERR_EXIT("msync %s", path);
    if (munmap(p_map, sizeof(people) * MAP_RECORDS) == -1)
        ERR_EXIT("munmap");
    printf("umap ok\n");
    // ANCHOR_END: unmap
    return 0;
}
