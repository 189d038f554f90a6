/*
 * sysv_read.c: the reader of the System V pair.
 *
 * Seed 003 §2.5 ("system V共享内存"), the read program, written again for this project; the
 * Rust port is ../src/bin/sysv_read.rs, chapter docs/src/sysv_shm.md.
 *
 * It finds the segment sysv_write made under key 1234, attaches it read-only, prints the
 * record, detaches and removes the segment (IPC_RMID).
 *
 *     $ ./sysv_read
 *     name:barr, age:20
 *
 * Options the notes' program lacks, for scripts and tests, spelled as in the Rust: --key KEY,
 * and --stat (print what shmctl(IPC_STAT) knows of the segment first). The Rust port also
 * takes --ftok PATH PROJ_ID, and holds Ctrl-C until the segment is removed; this one does
 * neither.
 *
 * Fixed from the notes (marked "notes:"): "%s" on a name with no NUL, no newline at the end,
 * shmdt and shmctl unchecked, attached read-write to read. Added: IPC_STAT, so that a segment
 * of another size under the key is left alone instead of read past its end.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "common.h"

int main(int argc, char **argv)
{
    key_t key = 1234;
    int stat = 0;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = (key_t)strtoul(argv[++i], &end, 0);
            if (*end != '\0' || end == argv[i] || key == IPC_PRIVATE)
                USAGE_EXIT("--key must be a number other than 0 (IPC_PRIVATE), not %s", argv[i]);
        } else if (strcmp(argv[i], "--stat") == 0) {
            stat = 1;
        } else {
            USAGE_EXIT("sysv_read [--key KEY] [--stat]");
        }
    }

    // ANCHOR: shmget
    int shmid = shmget(key, 0, 0); /* notes: sizeof(STU); 0 takes any size, judged below */
    if (shmid == -1 && errno == ENOENT)
        ERRX_EXIT("shmget %#010x: %s; no segment has this key: run sysv_write first",
                  (unsigned)key, strerror(errno));
    if (shmid == -1)
        ERR_EXIT("shmget %#010x", (unsigned)key);
    // ANCHOR_END: shmget

    // ANCHOR: stat
    struct shmid_ds ds; /* notes: none */
    if (shmctl(shmid, IPC_STAT, &ds) == -1)
        ERR_EXIT("shmctl %#010x IPC_STAT", (unsigned)key);
    if (ds.shm_segsz != sizeof(people))
        ERRX_EXIT("key %#010x: the segment is %zu bytes, not one %zu-byte people record; left "
                  "alone",
                  (unsigned)key, (size_t)ds.shm_segsz, sizeof(people));
    // ANCHOR_END: stat

    // ANCHOR: shmat
    const people *p = shmat(shmid, NULL, SHM_RDONLY); /* notes: SHM_RND, read-write */
    if (p == (void *)-1)
        ERR_EXIT("shmat %#010x", (unsigned)key);
    if (stat) { /* again, now that this process is attached too */
        if (shmctl(shmid, IPC_STAT, &ds) == -1)
            ERR_EXIT("shmctl %#010x IPC_STAT", (unsigned)key);
        printf("shmctl(IPC_STAT) of shmid %d:\n", shmid);
        printf("  shm_perm.__key  %#010x\n", (unsigned)ds.shm_perm.__key);
        printf("  shm_perm.mode   %04o\n", ds.shm_perm.mode & 0777);
        printf("  shm_segsz       %zu\n", (size_t)ds.shm_segsz);
        printf("  shm_nattch      %lu\n", (unsigned long)ds.shm_nattch);
        printf("  shm_cpid        %ld\n", (long)ds.shm_cpid);
        printf("  shm_lpid        %ld\n", (long)ds.shm_lpid);
    }
    // ANCHOR_END: shmat

    // ANCHOR: read
    printf("name:%.4s, age:%d\n", p->name, p->age); /* notes: "%s", and no "\n" */
    // ANCHOR_END: read

    // ANCHOR: shmdt
    if (shmdt(p) == -1)
        ERR_EXIT("shmdt %#010x", (unsigned)key);
    // ANCHOR_END: shmdt

    // ANCHOR: rmid
    if (shmctl(shmid, IPC_RMID, NULL) == -1)
        ERR_EXIT("shmctl %#010x IPC_RMID", (unsigned)key);
    // ANCHOR_END: rmid
    return 0;
}
