/*
 * memfd_share.h: what memfd_write.c and memfd_read.c share, as the Rust programs share
 * ../src/lib.rs: the object's size, the seals by their C names, the SOCKET argument, the signals a wait must end on.
 * Linux only (included inside their #ifdef __linux__). memfd_shrink.c takes its size from
 * here too. Static inline: a program that does not call a function does not warn of it.
 */
#ifndef SHM_BY_EXAMPLE_MEMFD_SHARE_H
#define SHM_BY_EXAMPLE_MEMFD_SHARE_H

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

#define RECORDS 10
#define SIZE (RECORDS * sizeof(people)) /* 80 bytes: exactly the ten records */

/* The seals as C names them: "F_SEAL_SHRINK | F_SEAL_GROW", or "none". */
static inline const char *seal_names(int seals, char *buf, size_t size)
{
    static const struct { int flag; const char *name; } known[] = {
        {F_SEAL_SHRINK, "F_SEAL_SHRINK"}, {F_SEAL_GROW, "F_SEAL_GROW"},
        {F_SEAL_WRITE, "F_SEAL_WRITE"},   {F_SEAL_SEAL, "F_SEAL_SEAL"},
    };
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (seals & known[i].flag)
            used += snprintf(buf + used, size - used, "%s%s", used ? " | " : "", known[i].name);
    int rest = seals & ~(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    if (rest) /* F_SEAL_FUTURE_WRITE (0x10), F_SEAL_EXEC (0x20), and any later one */
        used += snprintf(buf + used, size - used, "%s%#x", used ? " | " : "", (unsigned)rest);
    return used ? buf : "none";
}

/* The SOCKET argument, as the Rust's Socket::parse judges it: a path of 1 to 107 bytes
 * (sun_path, with room for the NUL), or @ and 1 to 106 bytes of a name in Linux's abstract
 * namespace, which is no file at all. Fills addr; returns its length for bind and connect. */
static inline socklen_t socket_addr(const char *s, struct sockaddr_un *addr)
{
    size_t max = sizeof addr->sun_path - 1, len = strlen(s);
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (s[0] == '@') {
        if (len == 1 || len - 1 > max - 1)
            USAGE_EXIT("SOCKET: @ and 1 to %zu bytes", max - 1);
        memcpy(addr->sun_path + 1, s + 1, len - 1); /* sun_path[0] stays 0: abstract */
        return offsetof(struct sockaddr_un, sun_path) + len;
    }
    if (len == 0 || len > max)
        USAGE_EXIT("SOCKET: a socket path is 1 to %zu bytes (sockaddr_un's sun_path); this one "
                   "is %zu",
                   max, len);
    memcpy(addr->sun_path, s, len);
    return offsetof(struct sockaddr_un, sun_path) + len + 1;
}

/* SIGHUP, SIGINT and SIGTERM blocked (into *signals), and a signalfd that reads them where
 * the program waits: the C of the Rust programs' common::Interrupts. */
static inline int block_interrupts(sigset_t *signals)
{
    sigemptyset(signals);
    sigaddset(signals, SIGHUP);
    sigaddset(signals, SIGINT);
    sigaddset(signals, SIGTERM);
    if (sigprocmask(SIG_BLOCK, signals, NULL) == -1)
        ERR_EXIT("sigprocmask");
    int sfd = signalfd(-1, signals, SFD_CLOEXEC);
    if (sfd == -1)
        ERR_EXIT("signalfd");
    return sfd;
}

/* The signal the signalfd has for us (poll said it has one). */
static inline int read_signal(int sfd)
{
    struct signalfd_siginfo info;
    if (read(sfd, &info, sizeof info) != sizeof info)
        ERR_EXIT("read signalfd");
    return (int)info.ssi_signo;
}

/* The end the signal would have brought: its default action, unblocked (the shell sees the
 * process killed by it). Call it once what must be removed is removed. */
static inline void die_of_signal(int signo, const sigset_t *signals)
{
    signal(signo, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, signals, NULL);
    raise(signo);
    exit(128 + signo); /* not reached: the default action of all three ends the process */
}

#endif
