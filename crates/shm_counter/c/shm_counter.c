/*
 * shm_counter.c: two processes increment one counter in shared memory, under a lock.
 *
 * Seed 000 §2 and §3 point to two examples they do not include, 2_ex_shm_increase2.c (the
 * counter in a mapped file) and 3_ex_increase_map_anon.c (in an anonymous mapping): UNP
 * vol. 2's incr2.c and incr_map_anon.c (§12.3, §12.4), where parent and child each add 1 to
 * the counter N times. Written again for this project; the Rust port is ../src/main.rs,
 * chapter docs/src/shm_counter.md.
 *
 *     $ ./shm_counter --loops 100000 --backing file
 *     backing file, sync mutex: parent and child each increment the counter 100000 times
 *     counter = 200000, expected 200000, lost updates 0
 *
 * UNP guards the counter with a POSIX semaphore (a named one in incr2.c, sem_init'ed in the
 * region in incr3.c and incr_map_anon.c). This program, like the Rust port's default, puts a
 * process-shared pthread mutex in the region (the Rust's raw_sync mutex is one: the same
 * bytes, so the two programs share a region). --sync atomic makes one atomic add instead,
 * --sync none a load and a store (updates get lost). --backing chooses the region: file (a
 * file with no name, or --file PATH), anon (MAP_SHARED | MAP_ANONYMOUS) or posix (shm_open
 * of --name, removed at the end). --trace prints every value, as UNP's programs do.
 *
 * --role first|second runs it as one of two unrelated processes sharing a POSIX counter
 * (--backing posix --name NAME): the Rust port's protocol and region layout, so that a C
 * first works with a Rust second and the other way round. The layout (one page):
 *   0 the pthread mutex, 128 the counter (u64), 136 the first's --loops (u64), 144 "SHMC"
 *   (written last), 148 version 2, 152 size 4096, 156 the --sync code, 160 the state:
 *   1 waiting for a second, 2 a second attached, 3 the second finished.
 * Each holds an OFD lock on one byte of the object (the first byte 0, the second byte 1), so
 * that each sees the other end, however it ends; every wait is cut in 100 ms slices, between
 * which Ctrl-C, the header and the other process are looked at.
 *
 * Only in the Rust port: --sync robust, --backing shared-memory, --child-dies-holding-lock
 * and --time. Fixed from UNP (marked "UNP:"): a counter file created 0666 (FILE_MODE) in the
 * current directory, and a parent that never waits for its child.
 */
#define _GNU_SOURCE /* O_TMPFILE, F_OFD_SETLK, syscall */
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define REGION 4096
#define MAX_LOOPS (1ULL << 40)
enum { COUNTER = 128, LOOPS = 136, MAGIC = 144, VERSION = 148, SIZE = 152, SYNC = 156,
       STATE = 160 };
enum { WAITING = 1, ATTACHED = 2, FINISHED = 3 };
enum { SYNC_MUTEX = 0, SYNC_ATOMIC = 2, SYNC_NONE = 3 }; /* the Rust's codes (1 is robust) */
static const char *sync_names[] = {"mutex", "robust", "atomic", "none"};
#define MAGIC_VALUE 0x53484d43u /* "SHMC" */

static char *base;              /* the region */
static const char *name;        /* the POSIX object, if this process must unlink it */
static volatile sig_atomic_t interrupted;
static pid_t child;             /* the parent's child, killed if the parent stops early */

#define WORD32(off) ((uint32_t *)(base + (off)))
#define WORD64(off) ((uint64_t *)(base + (off)))

static void on_signal(int signo) { interrupted = signo; }

/* Every way out after the region exists: the child killed, the object unlinked. */
static void cleanup(void)
{
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    if (name)
        shm_unlink(name);
}

/* A Ctrl-C that came: clean up, then end by that signal, as an uncaught one would. */
static void check_interrupt(void)
{
    if (!interrupted)
        return;
    int signo = interrupted;
    cleanup();
    signal(signo, SIG_DFL);
    raise(signo);
}

/* The header still says what init wrote (never trust bytes another process wrote). */
static void validate(uint64_t loops, uint32_t sync)
{
    uint32_t state = __atomic_load_n(WORD32(STATE), __ATOMIC_ACQUIRE);
    if (__atomic_load_n(WORD32(MAGIC), __ATOMIC_ACQUIRE) != MAGIC_VALUE ||
        *WORD32(VERSION) != 2 || *WORD32(SIZE) != REGION || *WORD32(SYNC) != sync ||
        state < WAITING || state > FINISHED || *WORD64(LOOPS) != loops ||
        __atomic_load_n(WORD64(COUNTER), __ATOMIC_RELAXED) > 2 * loops)
        ERRX_EXIT("%s: not a shm_counter region", name ? name : "the region");
}

/* The other process: alive while it holds its OFD lock on `byte` of fd's object. */
static int alive(int fd, int byte)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) == -1)
        ERR_EXIT("fcntl F_OFD_GETLK");
    return fl.l_type != F_UNLCK;
}

static int hold(int fd, int byte)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

/* The other side: a process holding an OFD lock (role mode) or the parent/child. */
struct peer { int fd, byte; pid_t parent; };

static int peer_alive(const struct peer *p)
{
    if (p->fd != -1)
        return alive(p->fd, p->byte);
    if (p->parent)
        return getppid() == p->parent;
    siginfo_t info = {0}; /* WNOWAIT: look, but leave the child to the final waitpid */
    if (waitid(P_PID, child, &info, WEXITED | WNOHANG | WNOWAIT) == -1)
        ERR_EXIT("waitid");
    return info.si_pid == 0;
}

// ANCHOR: increment
static uint64_t increment(uint32_t sync, uint64_t loops, const struct peer *peer)
{
    uint64_t *counter = WORD64(COUNTER), before;
    if (sync == SYNC_ATOMIC)
        return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    if (sync == SYNC_NONE) { /* a load, then a store: the other can come in between */
        before = __atomic_load_n(counter, __ATOMIC_RELAXED);
        __atomic_store_n(counter, before + 1, __ATOMIC_RELAXED);
        return before;
    }
    pthread_mutex_t *mutex = (pthread_mutex_t *)base;
    for (int gone = 0;;) { /* UNP: sem_wait(&shared->mutex), which waits for ever */
        validate(loops, sync);
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 100 * 1000 * 1000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        int rc = pthread_mutex_timedlock(mutex, &deadline);
        if (rc == 0)
            break;
        if (rc != ETIMEDOUT)
            ERRX_EXIT("%s: not a shm_counter region", name ? name : "the region");
        check_interrupt();
        if (gone)
            ERRX_EXIT("lock: the other process died holding the mutex, which is not robust");
        gone = !peer_alive(peer);
    }
    before = __atomic_load_n(counter, __ATOMIC_RELAXED);
    __atomic_store_n(counter, before + 1, __ATOMIC_RELAXED);
    return before; /* still locked: the caller prints under the lock, then unlocks */
}
// ANCHOR_END: increment

// ANCHOR: count
static void count(const char *who, uint32_t sync, uint64_t loops, int trace,
                  const struct peer *peer, int needs_peer)
{
    for (uint64_t i = 0; i < loops; i++) {
        if (i % 65536 == 0) {
            check_interrupt();
            validate(loops, sync);
            if (needs_peer && !peer_alive(peer) &&
                __atomic_load_n(WORD32(STATE), __ATOMIC_ACQUIRE) != FINISHED)
                ERRX_EXIT("%s: the other process has ended; stopping", who);
        }
        uint64_t before = increment(sync, loops, peer);
        if (trace)
            printf("%s: %llu\n", who, (unsigned long long)before);
        if (sync == SYNC_MUTEX && pthread_mutex_unlock((pthread_mutex_t *)base) != 0)
            ERRX_EXIT("pthread_mutex_unlock: failed");
    }
}
// ANCHOR_END: count

// ANCHOR: init
static void init(uint32_t sync, uint64_t loops)
{
    *WORD64(COUNTER) = 0;
    *WORD64(LOOPS) = loops;
    *WORD32(VERSION) = 2;
    *WORD32(SIZE) = REGION;
    *WORD32(SYNC) = sync;
    *WORD32(STATE) = WAITING;
    if (sync == SYNC_MUTEX) { /* UNP: sem_init(&shared->mutex, 1, 1) */
        pthread_mutexattr_t attr;
        if (pthread_mutexattr_init(&attr) != 0 ||
            pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
            pthread_mutex_init((pthread_mutex_t *)base, &attr) != 0)
            ERRX_EXIT("pthread_mutex_init: failed");
        pthread_mutexattr_destroy(&attr);
    }
    __atomic_store_n(WORD32(MAGIC), MAGIC_VALUE, __ATOMIC_RELEASE); /* last */
}
// ANCHOR_END: init

/* The state word: wait (100 ms slices) until it reaches `target`; wake the other side. */
static void wait_state(uint32_t target, uint32_t sync, uint64_t loops, const struct peer *p)
{
    for (;;) {
        check_interrupt();
        int live = p->fd == -1 || peer_alive(p);
        validate(loops, sync);
        uint32_t now = __atomic_load_n(WORD32(STATE), __ATOMIC_ACQUIRE);
        if (now >= target)
            return;
        if (!live)
            ERRX_EXIT("wait: the other process has ended");
        struct timespec slice = {0, 100 * 1000 * 1000};
        syscall(SYS_futex, WORD32(STATE), FUTEX_WAIT, now, &slice, NULL, 0);
    }
}

static void set_state(uint32_t state)
{
    __atomic_store_n(WORD32(STATE), state, __ATOMIC_RELEASE);
    syscall(SYS_futex, WORD32(STATE), FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void report(uint32_t sync, uint64_t expected)
{
    uint64_t value = __atomic_load_n(WORD64(COUNTER), __ATOMIC_SEQ_CST);
    if (sync == SYNC_NONE ? value > expected : value != expected)
        ERRX_EXIT("%s: not a shm_counter region", name ? name : "the region");
    printf("counter = %llu, expected %llu, lost updates %llu\n", (unsigned long long)value,
           (unsigned long long)expected, (unsigned long long)(expected - value));
}

/* The region: REGION bytes of the --backing kind; *fd is the object's descriptor or -1. */
static void create_region(const char *backing, const char *path, int *fd)
{
    int flags = MAP_SHARED;
    *fd = -1;
    if (strcmp(backing, "anon") == 0) {
        flags |= MAP_ANONYMOUS;
    } else if (strcmp(backing, "posix") == 0) {
        *fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (*fd == -1) {
            const char *n = name;
            name = NULL; /* not ours to unlink */
            ERR_EXIT("shm_open %s", n);
        }
    } else if (path) { /* UNP: open(pathname, O_RDWR | O_CREAT, FILE_MODE) */
        *fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
        if (*fd == -1)
            ERR_EXIT("open %s", path);
    } else {
        const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        *fd = open(dir, O_TMPFILE | O_RDWR, 0600);
        if (*fd == -1)
            ERR_EXIT("open an unnamed temp file in %s", dir);
    }
    if (*fd != -1) { /* sized, and its page reserved: no SIGBUS on a full filesystem */
        if (ftruncate(*fd, REGION) == -1)
            ERR_EXIT("ftruncate");
        reserve(*fd, REGION, name ? name : "the region");
    }
    base = mmap(NULL, REGION, PROT_READ | PROT_WRITE, flags, *fd, 0);
    if (base == MAP_FAILED)
        ERR_EXIT("mmap");
}

int main(int argc, char **argv)
{
    unsigned long long loops = 100000;
    const char *backing = "anon", *role = NULL, *path = NULL, *sync_name = "mutex";
    int trace = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (strcmp(a, "--trace") == 0) {
            trace = 1;
            continue;
        }
        if (!v)
            USAGE_EXIT("shm_counter [--loops N] [--backing file|anon|posix] [--sync "
                       "mutex|atomic|none] [--trace] [--file PATH] [--name NAME] [--role "
                       "first|second]");
        i++;
        if (strcmp(a, "--loops") == 0) {
            loops = strtoull(v, &end, 10);
            if (*end || end == v || loops < 1 || loops > MAX_LOOPS)
                USAGE_EXIT("--loops must be 1 to %llu, not %s", MAX_LOOPS, v);
        } else if (strcmp(a, "--backing") == 0 && strcmp(v, "shared-memory") != 0) {
            backing = v;
        } else if (strcmp(a, "--sync") == 0 && strcmp(v, "robust") != 0) {
            sync_name = v;
        } else if (strcmp(a, "--file") == 0) {
            path = v;
        } else if (strcmp(a, "--name") == 0) {
            name = v;
        } else if (strcmp(a, "--role") == 0) {
            role = v;
        } else {
            USAGE_EXIT("%s %s: not an option of this program (the Rust port has more)", a, v);
        }
    }
    uint32_t sync = strcmp(sync_name, "mutex") == 0    ? SYNC_MUTEX
                    : strcmp(sync_name, "atomic") == 0 ? SYNC_ATOMIC
                    : strcmp(sync_name, "none") == 0   ? SYNC_NONE
                                                       : 99;
    if (sync == 99 || (strcmp(backing, "file") && strcmp(backing, "anon") &&
                       strcmp(backing, "posix")))
        USAGE_EXIT("--sync is mutex, atomic or none; --backing file, anon or posix");
    if ((strcmp(backing, "posix") == 0 || role) && (!name || name[0] != '/'))
        USAGE_EXIT("--backing posix and --role need --name /NAME");
    if (role && strcmp(backing, "posix") != 0)
        USAGE_EXIT("--role needs --backing posix");
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out at once, even into a pipe */
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: waits return */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    atexit(cleanup);
    int fd;

    if (role && strcmp(role, "second") == 0) {
        // ANCHOR: second
        fd = shm_open(name, O_RDWR | O_NONBLOCK, 0);
        const char *n = name;
        name = NULL; /* the first's object: the first unlinks it */
        struct stat st;
        if (fd == -1 || fstat(fd, &st) == -1)
            ERR_EXIT("shm_open %s", n);
        if (!S_ISREG(st.st_mode) || st.st_size != REGION)
            ERRX_EXIT("%s: not a shm_counter region", n);
        base = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED)
            ERR_EXIT("mmap %s", n);
        sync = *WORD32(SYNC);
        loops = *WORD64(LOOPS);
        if (sync > SYNC_NONE || sync == 1 || loops < 1 || loops > MAX_LOOPS)
            ERRX_EXIT("%s: not a shm_counter region (or a --sync this C program lacks)", n);
        validate(loops, sync);
        struct peer first = {fd, 0, 0};
        if (!alive(fd, 0))
            ERRX_EXIT("open %s: the first process is gone: a leftover object", n);
        uint32_t expected = WAITING;
        if (!hold(fd, 1) || !__atomic_compare_exchange_n(WORD32(STATE), &expected, ATTACHED, 0,
                                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            ERRX_EXIT("%s: a second process is already attached to this first", n);
        syscall(SYS_futex, WORD32(STATE), FUTEX_WAKE, 1, NULL, NULL, 0);
        printf("second: attached %s, sync %s, %llu increments each (the first's)\n", n,
               sync_names[sync], loops);
        count("second", sync, loops, trace, &first, 1);
        validate(loops, sync);
        set_state(FINISHED);
        printf("second: done\n");
        // ANCHOR_END: second
        return 0;
    }

    create_region(backing, path, &fd);
    init(sync, loops);

    if (role) {
        // ANCHOR: first
        if (!hold(fd, 0))
            ERRX_EXIT("%s: another process holds the first's lock on it", name);
        printf("first: created %s, sync %s, %llu increments each; now start:\n", name,
               sync_name, loops);
        printf("  shm_counter --backing posix --name %s --role second\n", name);
        struct peer anyone = {-1, 0, 0}, second = {fd, 1, 0};
        wait_state(ATTACHED, sync, loops, &anyone);
        printf("first: the second process has attached; counting\n");
        count("first", sync, loops, trace, &second, 1);
        wait_state(FINISHED, sync, loops, &second);
        report(sync, 2 * loops);
        printf("first: removing %s (shm_unlink)\n", name);
        // ANCHOR_END: first
        return 0; /* cleanup() unlinks it */
    }

    // ANCHOR: fork
    printf("backing %s, sync %s: parent and child each increment the counter %llu times\n",
           backing, sync_name, loops);
    pid_t parent = getpid();
    child = fork();
    if (child == -1)
        ERR_EXIT("fork");
    if (child == 0) { /* the child: its own count, then _exit (no atexit cleanup) */
        struct peer p = {-1, 0, parent};
        name = NULL;
        count("child", sync, loops, trace, &p, 1);
        fflush(stdout);
        _exit(0);
    }
    struct peer p = {-1, 0, 0};
    count("parent", sync, loops, trace, &p, 0);
    int status; /* UNP: exit(0) without waiting */
    if (waitpid(child, &status, 0) == -1)
        ERR_EXIT("waitpid");
    child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        ERRX_EXIT("child: did not finish its count (wait status %#x)", status);
    report(sync, 2 * loops);
    // ANCHOR_END: fork
    return 0; /* cleanup() unlinks a posix object */
}
