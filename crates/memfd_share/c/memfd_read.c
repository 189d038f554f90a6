/*
 * memfd_read.c: receive a memfd's descriptor over a UNIX socket, check its seals, map it and
 * print its records.
 *
 * Beyond the notes; written for this project beside the Rust port ../src/bin/memfd_read.rs,
 * chapter docs/src/memfd_share.md.
 *
 * It connects to memfd_write's socket and receives the descriptor (recvmsg, SCM_RIGHTS): a
 * descriptor of its own for the writer's object, which has no name it could have opened.
 * Before it maps anything it checks what it got, since the bytes and the size are another
 * process's: a regular file, sealed against shrinking and writing (F_GET_SEALS), exactly
 * ten records long (fstat). Then it maps it read-only and prints the records as map_normalfile2 does. An
 * object that could still shrink is refused: its writer could cut the pages from under this
 * mapping, and the next read would die of SIGBUS (memfd_shrink shows it).
 *
 *     $ ./memfd_read /tmp/people.sock
 *     received a descriptor: 80 bytes, seals: F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL
 *     name: a age 20;
 *     ...
 *     name: j age 29;
 *
 * The same option as the Rust: --wait-stdin keeps the mapping until a line (or end of file)
 * arrives on stdin, then reads the last record again: the object outlives its writer for as
 * long as this mapping does. The same lines, on stdout and stderr, for the same input; a bad
 * argument gets a usage line of its own instead of clap's.
 *
 * Linux only (memfd seals, MSG_CMSG_CLOEXEC, signalfd); elsewhere main says so in one line.
 *
 * Exit status: 0 done, 1 a call failed or the object was refused (the message says why),
 * 2 bad arguments.
 */
#define _GNU_SOURCE /* F_GET_SEALS, MSG_CMSG_CLOEXEC */
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
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "memfd_share.h"


/* How long the reader waits for the descriptor: a writer that accepted and then stopped
 * (SIGSTOP, a debugger) must not hold it for ever. A writer that dies closes the connection,
 * which ends the wait at once. */
#define RECV_TIMEOUT 5

// ANCHOR: receive_fd
/* recvmsg of memfd_write's one byte with room for one descriptor beside it.
 * MSG_CMSG_CLOEXEC: the descriptor is close-on-exec from the moment it arrives. Every
 * descriptor that arrives is this process's to close, the refused ones too. */
static int receive_fd(int s, const char *sock)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union { /* the control buffer, aligned for a cmsghdr */
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
    if (n == -1 && errno == EAGAIN)
        ERRX_EXIT("recvmsg %s: no descriptor within %d s; the writer is not answering", sock,
                  RECV_TIMEOUT);
    if (n == -1)
        ERR_EXIT("recvmsg %s", sock);
    int fd = -1, fds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, fds++) {
            int received;
            memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
            if (fd == -1)
                fd = received;
            else
                close(received);
        }
    }
    if ((msg.msg_flags & MSG_CTRUNC) || fds > 1) {
        if (fd != -1)
            close(fd);
        ERRX_EXIT("recvmsg %s: more than one descriptor arrived; refused", sock);
    }
    if (fd == -1 && n == 0)
        ERRX_EXIT("recvmsg %s: the writer closed the connection without sending a descriptor",
                  sock);
    if (fd == -1)
        ERRX_EXIT("recvmsg %s: a message came with no descriptor", sock);
    return fd;
}
// ANCHOR_END: receive_fd

/* Waits for a line (or end of file) on stdin, or SIGINT, SIGTERM or SIGHUP: a signal ends
 * the process by its default action, as it would have without the wait (nothing here needs
 * removing; the mapping goes with the process). */
static void wait_for_stdin(void)
{
    sigset_t signals;
    int sfd = block_interrupts(&signals);
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                            {.fd = sfd, .events = POLLIN}};
    while (poll(fds, 2, -1) == -1)
        if (errno != EINTR)
            ERR_EXIT("poll");
    if (fds[1].revents)
        die_of_signal(read_signal(sfd), &signals);
    char line[512];
    if (read(STDIN_FILENO, line, sizeof line) == -1)
        ERR_EXIT("read stdin");
    close(sfd);
}

int main(int argc, char **argv)
{
    const char *sock = NULL;
    int wait_stdin = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wait-stdin") == 0)
            wait_stdin = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            USAGE_EXIT("memfd_read SOCKET [--wait-stdin]");
        else if (sock == NULL)
            sock = argv[i];
        else
            USAGE_EXIT("memfd_read SOCKET [--wait-stdin]");
    }
    if (sock == NULL)
        USAGE_EXIT("memfd_read SOCKET [--wait-stdin]");
    struct sockaddr_un addr;
    socklen_t addrlen = socket_addr(sock, &addr);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out at once, even into a pipe */

    // ANCHOR: connect
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s == -1)
        ERR_EXIT("socket AF_UNIX");
    if (connect(s, (const struct sockaddr *)&addr, addrlen) == -1) {
        int saved = errno;
        struct stat st;
        /* A file that is no socket (a directory, say) refuses as a dead socket does. */
        int is_socket = sock[0] == '@' || (lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode));
        if (saved == ECONNREFUSED && !is_socket)
            ERRX_EXIT("connect %s: %s; not a socket", sock, strerror(saved));
        if (saved == ENOENT || saved == ECONNREFUSED) /* no file, or no writer behind it */
            ERRX_EXIT("connect %s: %s; start memfd_write %s first", sock, strerror(saved), sock);
        errno = saved;
        ERR_EXIT("connect %s", sock);
    }
    struct timeval timeout = {.tv_sec = RECV_TIMEOUT};
    if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) == -1)
        ERR_EXIT("setsockopt SO_RCVTIMEO");
    // ANCHOR_END: connect

    // ANCHOR: recvmsg
    /* The descriptor arrives in msg's control data. */
    int fd = receive_fd(s, sock);
    // ANCHOR_END: recvmsg

    // ANCHOR: check
    /* Another process's object: check it before mapping it. */
    struct stat st;
    if (fstat(fd, &st) == -1)
        ERR_EXIT("fstat");
    if (!S_ISREG(st.st_mode))
        ERRX_EXIT("fstat: the descriptor is not a regular file; refused");
    /* EINVAL: not a file that can carry seals (not a memfd; one made without
     * MFD_ALLOW_SEALING reports F_SEAL_SEAL instead). */
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals == -1)
        ERRX_EXIT("fcntl F_GET_SEALS: %s; not a sealable memfd; refused", strerror(errno));
    /* fstat again: the size only now, after the seals. One read before them could be stale:
     * a writer may cut the object and then seal it in between. */
    if (fstat(fd, &st) == -1)
        ERR_EXIT("fstat");
    char names[128];
    printf("received a descriptor: %lld bytes, seals: %s\n", (long long)st.st_size,
           seal_names(seals, names, sizeof names));
    if (!(seals & F_SEAL_SHRINK))
        ERRX_EXIT("fcntl F_GET_SEALS: no F_SEAL_SHRINK: the writer could shrink the object under "
                  "this mapping and the next read would die of SIGBUS; refused");
    /* F_SEAL_WRITE cannot be added while a writable shared mapping exists, and refuses every
     * write and writable mapping after: the records cannot change while they are read. */
    if (!(seals & F_SEAL_WRITE))
        ERRX_EXIT("fcntl F_GET_SEALS: no F_SEAL_WRITE: the writer could change the records while "
                  "this program reads them; refused");
    /* Sealed against shrinking, the size read after the seals stays at least this. */
    if (st.st_size != (off_t)SIZE)
        ERRX_EXIT("fstat: %lld bytes, not %zu (ten people records); refused",
                  (long long)st.st_size, SIZE);
    // ANCHOR_END: check

    // ANCHOR: mmap
    /* The object is SIZE bytes and sealed against shrinking and writing: every mapped byte
     * stays backed, and stays as it is. */
    const people *p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        ERR_EXIT("mmap");
    // ANCHOR_END: mmap

    // ANCHOR: print
    for (int i = 0; i < RECORDS; i++)
        printf("name: %.4s age %d;\n", p[i].name, p[i].age);
    // ANCHOR_END: print

    if (wait_stdin) {
        printf("mapped until a line arrives on stdin\n");
        wait_for_stdin();
        /* The writer may be gone by now: the mapping holds the object all the same. */
        printf("after the wait: name: %.4s age %d;\n", p[RECORDS - 1].name, p[RECORDS - 1].age);
    }

    // ANCHOR: munmap
    /* The last reference to the object goes with this reader's descriptor and mapping, unless
     * the writer still holds its own. */
    if (munmap((void *)p, SIZE) == -1)
        ERR_EXIT("munmap");
    close(fd);
    close(s);
    // ANCHOR_END: munmap
    return 0;
}

#else /* not Linux */
#include <stdlib.h>
int main(void)
{
#ifdef __APPLE__ /* the Rust port's line where there is no memfd */
    fputs("memfd_read: memfd_create is not available on macos; the near-equivalent is shm_open "
          "with a random name and shm_unlink at once (docs/src/memfd_share.md)\n",
          stderr);
#else /* FreeBSD has memfd_create, but not signalfd */
    fputs("memfd_read: this C program needs Linux (signalfd); the Rust port runs here\n", stderr);
#endif
    return EXIT_FAILURE;
}
#endif
