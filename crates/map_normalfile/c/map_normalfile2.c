/*
 * map_normalfile2.c: the reader of the file-mapping pair.
 *
 * Seed 002 ("mmap范例", example 1), map_normalfile2.c, written again for this project; the
 * Rust port is ../src/bin/map_normalfile2.rs, chapter docs/src/map_normalfile.md.
 *
 * It maps 10 `people` records of a file that map_normalfile1 made 5 records long and prints
 * them: all 10 while the writer holds its mapping (both map the same page), and after the
 * writer's "umap ok" zeros for records 6..10 on a disk, the records themselves on tmpfs.
 *
 *     $ ./map_normalfile2 /var/tmp/test_shm
 *     name: a age 20;
 *     ...
 *
 * Fixed from the notes (marked "notes:"): it opened O_CREAT | O_RDWR, 0777, so a missing
 * file was created empty and reading its mapping died of SIGBUS; no error checks; "%s" on a
 * name that need not end in NUL. Added: fstat, so that a file too short or not a regular
 * file is one line, not SIGBUS or a hang. The Rust port also refuses a file with holes on
 * tmpfs (reading one can fault when the tmpfs is full); this one does not.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define FILE_RECORDS 5
#define MAP_RECORDS 10

int main(int argc, char **argv)
{
    if (argc != 2)
        USAGE_EXIT("map_normalfile2 FILE");
    const char *path = argv[1];

    // ANCHOR: open
    /* notes: O_CREAT | O_RDWR, 00777. O_NONBLOCK: a FIFO under the name must not block. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd == -1)
        ERR_EXIT("open %s", path);
    // ANCHOR_END: open

    // ANCHOR: size
    /* notes: none. Touching a mapped page past the file's last page raises SIGBUS. */
    struct stat st;
    if (fstat(fd, &st) == -1)
        ERR_EXIT("fstat %s", path);
    if (!S_ISREG(st.st_mode))
        ERRX_EXIT("open %s: not a regular file", path);
    if (st.st_size < (off_t)(sizeof(people) * FILE_RECORDS))
        ERRX_EXIT("%s: file is %lld bytes, shorter than the %zu that map_normalfile1 writes; "
                  "run it first",
                  path, (long long)st.st_size, sizeof(people) * FILE_RECORDS);
    // ANCHOR_END: size

    // ANCHOR: mmap
    /* notes: PROT_READ | PROT_WRITE; this program only reads. */
    people *p_map = mmap(NULL, sizeof(people) * MAP_RECORDS, PROT_READ, MAP_SHARED, fd, 0);
    if (p_map == MAP_FAILED)
        ERR_EXIT("mmap %s", path);
    close(fd);
    // ANCHOR_END: mmap

    // ANCHOR: print
    for (int i = 0; i < MAP_RECORDS; i++) /* notes: "%s", past the field without a NUL */
        printf("name: %.4s age %d;\n", p_map[i].name, p_map[i].age);
    // ANCHOR_END: print

    // ANCHOR: unmap
    if (munmap(p_map, sizeof(people) * MAP_RECORDS) == -1)
        ERR_EXIT("munmap");
    // ANCHOR_END: unmap
    return 0;
}
