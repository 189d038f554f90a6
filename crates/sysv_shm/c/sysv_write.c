/*
 * sysv_write.c: the writer of the System V pair.
 *
 * Seed 003 §2.5 ("system V共享内存"), the write program, written again for this project; the
 * Rust port is ../src/bin/sysv_write.rs, chapter docs/src/sysv_shm.md.
 *
 * It creates the segment under key 1234, one `people` record long, attaches it, writes the
 * name "barr" and the age 20, and detaches. The segment outlives the program: sysv_read
 * prints the record and removes it.
 *
 *     $ ./sysv_write && ./sysv_read
 *     name:barr, age:20
 *
 * Options the notes' program lacks, for scripts and tests (make run-sysv IMPL=c), spelled as
 * in the Rust: --key KEY (decimal or 0x-hex) instead of 1234, --new (a taken key is an
 * error, not a segment to write into), --wait-stdin (stay attached until a line arrives on
 * stdin). The Rust port also takes --ftok PATH PROJ_ID, and holds Ctrl-C until it has
 * cleaned up; this one does neither.
 *
 * Fixed from the notes (marked "notes:"): mode 0666, strcpy of "barr" into char[4] (its NUL
 * lands in age), SHM_RND with a NULL address, shmdt unchecked. Added: IPC_EXCL, so that the
 * program knows whether the segment is its own (and removes it again if a later call fails),
 * and IPC_STAT, so that a segment of another size under the key is left alone.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "common.h"

static int shmid = -1, created;

/* A failure after this program created the segment removes it again, then exits. */
static void cleanup(void)
{
    if (created)
        shmctl(shmid, IPC_RMID, NULL);
}

int main(int argc, char **argv)
{
    key_t key = 1234;
    int new = 0, wait_stdin = 0;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = (key_t)strtoul(argv[++i], &end, 0);
            if (*end != '\0' || end == argv[i] || key == IPC_PRIVATE)
                USAGE_EXIT("--key must be a number other than 0 (IPC_PRIVATE), not %s", argv[i]);
        } else if (strcmp(argv[i], "--new") == 0) {
            new = 1;
        } else if (strcmp(argv[i], "--wait-stdin") == 0) {
            wait_stdin = 1;
        } else {
            USAGE_EXIT("sysv_write [--key KEY] [--new] [--wait-stdin]");
        }
    }
    atexit(cleanup);

    // ANCHOR: shmget
    /* notes: 0666, and no IPC_EXCL. */
    shmid = shmget(key, sizeof(people), IPC_CREAT | IPC_EXCL | 0600);
    if (shmid != -1)
        created = 1;
    else if (errno == EEXIST && !new)
        shmid = shmget(key, 0, 0); /* taken: open what is there, judged below */
    if (shmid == -1)
        ERR_EXIT("shmget %#010x", (unsigned)key);
    // ANCHOR_END: shmget

    // ANCHOR: stat
    /* notes: none. A segment found under the key must be one record, or it is not ours. */
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) == -1)
        ERR_EXIT("shmctl %#010x IPC_STAT", (unsigned)key);
    if (ds.shm_segsz != sizeof(people))
        ERRX_EXIT("key %#010x: a segment of %zu bytes has this key, not one %zu-byte people "
                  "record; left alone",
                  (unsigned)key, (size_t)ds.shm_segsz, sizeof(people));
    // ANCHOR_END: stat

    // ANCHOR: shmat
    people *p = shmat(shmid, NULL, 0); /* notes: SHM_RND, which does nothing with NULL */
    if (p == (void *)-1)
        ERR_EXIT("shmat %#010x", (unsigned)key);
    // ANCHOR_END: shmat

    // ANCHOR: write
    memcpy(p->name, "barr", sizeof p->name); /* notes: strcpy, 5 bytes into 4 */
    p->age = 20;
    // ANCHOR_END: write

    // ANCHOR: hold
    if (wait_stdin) {
        printf("written; attached until a line arrives on stdin\n");
        fflush(stdout);
        int c;
        while ((c = getchar()) != EOF && c != '\n')
            ;
    }
    // ANCHOR_END: hold

    // ANCHOR: shmdt
    if (shmdt(p) == -1)
        ERR_EXIT("shmdt %#010x", (unsigned)key);
    created = 0; /* the segment stays, for sysv_read */
    // ANCHOR_END: shmdt
    return 0;
}
