/*
 * futex_handoff.c: the handoff of ipc_bench's shared-memory ring, alone: a parent writes
 * messages into a ring of slots in memory it shares with its child (MAP_SHARED |
 * MAP_ANONYMOUS, before fork), the child reads them; each slot's `full` word says whose turn
 * it is, and a side that must wait sleeps on that word with futex(2) until the other side
 * wakes it. The notes say shared memory needs a lock or a semaphore beside it (seed 000);
 * this is the semaphore made of one word, and what ipc_bench's `POSIX shm, futex` rows
 * measure. Porting exercise 13 ports it (crates/ipc_bench/src/futex.rs).
 *
 * Usage: futex_handoff [COUNT]      (COUNT messages of 4096 bytes, 20000 by default)
 *
 * Every wait is a futex sleep of 100 ms at most: then the side looks whether the other is
 * still there (the child: getppid; the parent: waitpid WNOHANG), so neither waits for ever.
 * Chapter: docs/src/benchmark.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define SLOTS 8
#define MSG 4096

struct slot {
    _Atomic uint32_t full; /* 0: empty, the writer's turn; 1: full, the reader's */
    char pad[60];          /* one cache line for the word */
    unsigned char data[MSG];
};

struct ring {
    _Atomic uint32_t writer_sleeping, reader_sleeping;
    _Atomic uint64_t checksum; /* the reader's, at the end */
    char pad[48];
    struct slot slot[SLOTS];
};

/* futex(word, FUTEX_WAIT, expected, 100 ms): sleeps while *word == expected. Not
 * FUTEX_PRIVATE_FLAG: the word is shared between processes. Returns 0 if the time ran out. */
static int futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
    struct timespec timeout = {0, 100 * 1000 * 1000};
    if (syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout, NULL, 0) == -1)
        return errno != ETIMEDOUT && errno != EINTR;
    return 1;
}

/* futex(word, FUTEX_WAKE, 1): wakes one process sleeping on word. */
static void futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The other process: still there? */
static pid_t child_pid, parent_pid;

static void check_partner(void)
{
    int status;
    if (child_pid > 0 && waitpid(child_pid, &status, WNOHANG) == child_pid)
        ERRX_EXIT("the reader has ended");
    if (child_pid == 0 && getppid() != parent_pid)
        _exit(1);
}

/* Waits until *word == want: says so in `sleeping` first, so that the other side knows to
 * wake it; the flag and the word are both sequentially consistent, so either the waker sees
 * the flag, or FUTEX_WAIT sees the new value and does not sleep. */
static void wait_for(_Atomic uint32_t *word, uint32_t want, _Atomic uint32_t *sleeping)
{
    while (atomic_load(word) != want) {
        atomic_store(sleeping, 1);
        uint32_t now = atomic_load(word);
        if (now != want && !futex_wait(word, now))
            check_partner(); /* 100 ms without a word from the other side */
        atomic_store(sleeping, 0);
    }
}

/* Sets *word to value and wakes the other side if it sleeps. */
static void publish(_Atomic uint32_t *word, uint32_t value, _Atomic uint32_t *other_sleeping)
{
    atomic_store(word, value);
    if (atomic_load(other_sleeping))
        futex_wake(word);
}

static uint64_t sum(const unsigned char *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

int main(int argc, char *argv[])
{
    long count = 20000;
    char *end;
    if (argc > 2)
        USAGE_EXIT("futex_handoff [COUNT]");
    if (argc == 2) {
        errno = 0;
        count = strtol(argv[1], &end, 10);
        if (errno != 0 || *end != '\0' || count < 1 || count > 10000000)
            USAGE_EXIT("futex_handoff [COUNT]: COUNT is 1 to 10000000, not %s", argv[1]);
    }
    // ANCHOR: map
    struct ring *ring = mmap(NULL, sizeof *ring, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0); /* zeroed: every slot empty */
    if (ring == MAP_FAILED)
        ERR_EXIT("mmap");
    // ANCHOR_END: map
    printf("ring of %d slots of %d bytes; messages: %ld\n", SLOTS, MSG, count);
    fflush(stdout);
    parent_pid = getpid();
    if ((child_pid = fork()) == -1)
        ERR_EXIT("fork");
    if (child_pid == 0) {
        // ANCHOR: reader
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the parent */
        if (getppid() != parent_pid)
            _exit(1);
        uint64_t total = 0;
        for (long seq = 0; seq < count; seq++) {
            struct slot *s = &ring->slot[seq % SLOTS];
            wait_for(&s->full, 1, &ring->reader_sleeping);
            total += sum(s->data, MSG); /* read where it lies: no copy */
            publish(&s->full, 0, &ring->writer_sleeping);
        }
        atomic_store(&ring->checksum, total);
        printf("reader: checksum %llu\n", (unsigned long long)total);
        exit(EXIT_SUCCESS);
        // ANCHOR_END: reader
    }
    // ANCHOR: writer
    uint64_t total = 0;
    for (long seq = 0; seq < count; seq++) {
        struct slot *s = &ring->slot[seq % SLOTS];
        wait_for(&s->full, 0, &ring->writer_sleeping);
        memset(s->data, (int)(seq % 251) + 1, MSG);
        s->data[0] = (unsigned char)(seq >> 8);
        total += sum(s->data, MSG);
        publish(&s->full, 1, &ring->reader_sleeping);
    }
    int status;
    if (waitpid(child_pid, &status, 0) == -1)
        ERR_EXIT("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ERRX_EXIT("the reader failed");
    if (atomic_load(&ring->checksum) != total)
        ERRX_EXIT("checksum %llu, expected %llu", (unsigned long long)ring->checksum,
                  (unsigned long long)total);
    printf("writer: checksum %llu, the same\n", (unsigned long long)total);
    // ANCHOR_END: writer
    munmap(ring, sizeof *ring);
    return 0;
}
