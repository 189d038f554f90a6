/*
 * memfd_write.c: shared memory with no name, handed to each reader as a descriptor.
 *
 * Beyond the notes (they end at shm_open); written for this project beside the Rust port
 * ../src/bin/memfd_write.rs, chapter docs/src/memfd_share.md.
 *
 * It makes an anonymous file (memfd_create), sizes it to the ten `people` records that
 * map_normalfile1 writes, maps it, writes them, unmaps it, and seals it: from then on no
 * process can shrink it, grow it or write to it (fcntl F_ADD_SEALS). Then it listens on a
 * UNIX socket and sends the descriptor itself to each reader that connects (sendmsg with
 * SCM_RIGHTS), until Ctrl-C. The object has no name anywhere: it lives while a descriptor or
 * a mapping refers to it. The socket is the only name, and this program removes it on every
 * way out but SIGKILL.
 *
 *     $ ./memfd_write /tmp/people.sock               (or @people: the abstract namespace)
 *     memfd people: 80 bytes, seals: F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL
 *     listening on /tmp/people.sock; Ctrl-C to stop
 *     sent the descriptor to pid 4242                (./memfd_read /tmp/people.sock, elsewhere)
 *
 * The same options as the Rust: --no-seals sends the object unsealed (memfd_read refuses it,
 * and says why); --count N stops after N readers. The same lines, on stdout and stderr, for
 * the same input; a bad argument gets a usage line of its own instead of clap's.
 *
 * Linux only (memfd_create, signalfd, SO_PEERCRED); elsewhere main says so in one line.
 *
 * Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments; killed by the
 * signal that stopped it (SIGINT, SIGTERM, SIGHUP), once the socket is removed.
 */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS, accept4, SO_PEERCRED */
#include <stdio.h>

#ifdef __linux__
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "memfd_share.h"

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

static const char *bound; /* the socket file this program made, while it has one */

/* unlink(SOCKET) on every way out after bind: a normal end, an error, a caught signal. Only a
 * socket: if something else has taken the name since, it is not ours. */
static void remove_socket(void)
{
    struct stat st;
    if (bound && lstat(bound, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(bound) == -1)
        warn("unlink %s", bound);
    bound = NULL;
}

/* A signal read from the signalfd: the socket removed, then the end the signal would have
 * brought. */
static void die_of(int signo, const sigset_t *signals)
{
    remove_socket();
    die_of_signal(signo, signals);
}

// ANCHOR: bind
/* Whether `path` is a socket of this user's that nobody listens on: connect is refused. */
static int is_stale(const char *path, const struct sockaddr_un *addr, socklen_t len)
{
    struct stat st;
    if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
        return 0;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe == -1)
        return 0;
    int refused = connect(probe, (const struct sockaddr *)addr, len) == -1 && errno == ECONNREFUSED;
    close(probe);
    return refused;
}

/* bind(s, SOCKET), owner-only (umask(077) around it: connecting needs write permission on
 * the socket file). A socket file that no writer listens on any more (one killed by SIGKILL
 * leaves it) is removed and bound again; anything else under the name is left alone. */
static void bind_socket(int s, const char *sock, const struct sockaddr_un *addr, socklen_t len)
{
    mode_t old = umask(077);
    int rc = bind(s, (const struct sockaddr *)addr, len);
    if (rc == -1 && errno == EADDRINUSE && sock[0] != '@' && is_stale(sock, addr, len)) {
        if (unlink(sock) == 0)
            printf("removed %s: a socket no writer listens on\n", sock);
        else
            warn("unlink %s", sock);
        rc = bind(s, (const struct sockaddr *)addr, len);
    }
    umask(old); /* it cannot fail, and leaves errno alone */
    if (rc == -1 && errno == EADDRINUSE)
        ERRX_EXIT("bind %s: %s; another writer listens there, or it is not a socket; left alone",
                  sock, strerror(errno));
    if (rc == -1)
        ERR_EXIT("bind %s", sock);
    if (sock[0] != '@')
        bound = sock; /* removed by remove_socket from here on */
}
// ANCHOR_END: bind

// ANCHOR: send_fd
/* sendmsg with one data byte (a stream carries ancillary data only beside data) and an
 * SCM_RIGHTS message holding fd: the reader receives a new descriptor for the same open
 * file, as if it had been dup'ed into its process. */
static int send_fd(int c, int fd)
{
    char byte = 'M';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union { /* the control buffer, aligned for a cmsghdr */
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    /* MSG_NOSIGNAL: a reader that has gone makes this fail with EPIPE, not kill us. */
    return sendmsg(c, &msg, MSG_NOSIGNAL) == -1 ? -1 : 0;
}
// ANCHOR_END: send_fd

int main(int argc, char **argv)
{
    const char *sock = NULL;
    int no_seals = 0;
    unsigned long long count = 0; /* 0: until Ctrl-C */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-seals") == 0) {
            no_seals = 1;
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            char *end;
            errno = 0;
            count = strtoull(v, &end, 10);
            if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno || count == 0)
                USAGE_EXIT("--count is 1 to %llu, not %s", (unsigned long long)-1, v);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            USAGE_EXIT("memfd_write SOCKET [--no-seals] [--count N]");
        } else if (sock == NULL) {
            sock = argv[i];
        } else {
            USAGE_EXIT("memfd_write SOCKET [--no-seals] [--count N]");
        }
    }
    if (sock == NULL)
        USAGE_EXIT("memfd_write SOCKET [--no-seals] [--count N]");
    struct sockaddr_un addr;
    socklen_t addrlen = socket_addr(sock, &addr);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out at once, even into a pipe */
    atexit(remove_socket);

    /* Not in C's usual version: from here on SIGINT and friends wait, pending, until the
     * socket can be removed; the signalfd reads them where this program waits. */
    sigset_t signals;
    int sfd = block_interrupts(&signals);

    // ANCHOR: memfd_create
    /* A file with no name in any directory: it lives while a descriptor or a mapping refers
     * to it. Without MFD_ALLOW_SEALING it could never be sealed. */
    int fd = memfd_create("people", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd == -1)
        ERR_EXIT("memfd_create people");
    // ANCHOR_END: memfd_create

    // ANCHOR: ftruncate
    if (ftruncate(fd, SIZE) == -1)
        ERR_EXIT("ftruncate memfd");
    /* ftruncate reserves no page; without the reservation a store into the mapping could die
     * of SIGBUS when memory (or the cgroup's share of it) is short (common.h: posix_fallocate). */
    reserve(fd, SIZE, "memfd");
    // ANCHOR_END: ftruncate

    // ANCHOR: mmap
    people *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        ERR_EXIT("mmap memfd");
    for (int i = 0; i < RECORDS; i++) { /* a aged 20, b aged 21, ... j aged 29 */
        memset(p[i].name, 0, sizeof p[i].name);
        p[i].name[0] = 'a' + i;
        p[i].age = 20 + i;
    }
    /* F_SEAL_WRITE is refused (EBUSY) while a writable shared mapping exists. */
    if (munmap(p, SIZE) == -1)
        ERR_EXIT("munmap memfd");
    // ANCHOR_END: mmap

    // ANCHOR: seal
    /* From here on the object is 80 bytes of these records for ever: a reader that maps it
     * can trust its size (no SIGBUS) and its content (no one changes it). */
    if (!no_seals && fcntl(fd, F_ADD_SEALS, SEALS) == -1)
        ERR_EXIT("fcntl F_ADD_SEALS");
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals == -1)
        ERR_EXIT("fcntl F_GET_SEALS");
    char names[128];
    printf("memfd people: %zu bytes, seals: %s\n", SIZE, seal_names(seals, names, sizeof names));
    // ANCHOR_END: seal

    // ANCHOR: listen
    /* Non-blocking: a reader that connects and leaves before accept does not hold accept. */
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s == -1)
        ERR_EXIT("socket AF_UNIX");
    bind_socket(s, sock, &addr, addrlen);
    if (listen(s, 8) == -1)
        ERR_EXIT("listen %s", sock);
    printf("listening on %s; Ctrl-C to stop\n", sock);
    // ANCHOR_END: listen

    // ANCHOR: serve
    for (unsigned long long served = 0; count == 0 || served < count;) {
        /* poll {s, signalfd}: a connection, or Ctrl-C (which removes the socket). */
        struct pollfd fds[2] = {{.fd = s, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(fds, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            ERR_EXIT("poll");
        }
        if (fds[1].revents)
            die_of(read_signal(sfd), &signals);
        if (!fds[0].revents)
            continue;
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c == -1) {
            /* Gone again before accept, or a signal: back to the wait. */
            if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR)
                continue;
            ERR_EXIT("accept");
        }
        /* Anyone may connect to an abstract name (it has no permissions): only this user's
         * processes get the descriptor. */
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
            ERR_EXIT("getsockopt SO_PEERCRED");
        if (cred.uid != geteuid()) {
            printf("refused a reader of user %u: not this program's user\n", (unsigned)cred.uid);
            close(c);
            continue;
        }
        if (send_fd(c, fd) == 0)
            printf("sent the descriptor to pid %d\n", (int)cred.pid);
        else /* a reader that died before it read: report it, serve the next */
            printf("sendmsg to pid %d: %s; the reader has gone\n", (int)cred.pid, strerror(errno));
        close(c);
        served++;
    }
    // ANCHOR_END: serve

    /* A signal that came while this program worked ends it now, with the socket removed. */
    struct pollfd pending = {.fd = sfd, .events = POLLIN};
    if (poll(&pending, 1, 0) > 0)
        die_of(read_signal(sfd), &signals);
    remove_socket();
    close(s);
    close(fd);
    close(sfd);
    return 0;
}

#else /* not Linux */
#include <stdlib.h>
int main(void)
{
#ifdef __APPLE__ /* the Rust port's line where there is no memfd */
    fputs("memfd_write: memfd_create is not available on macos; the near-equivalent is shm_open "
          "with a random name and shm_unlink at once (docs/src/memfd_share.md)\n",
          stderr);
#else /* FreeBSD has memfd_create, but neither signalfd nor SO_PEERCRED */
    fputs("memfd_write: this C program needs Linux (signalfd, SO_PEERCRED); the Rust port runs "
          "here\n",
          stderr);
#endif
    return EXIT_FAILURE;
}
#endif
