/* Hand-written edge-triggered epoll echo server: the syscall-cost reference
 * for the TCP echo case (PERFORMANCE.md). One thread, non-blocking sockets,
 * EPOLLET: read until EAGAIN, write back what was read.
 *
 *   epoll_echo <port>
 *
 * Prints "listening" once bound, then serves until killed (the driver reads
 * its CPU time with wait4, i.e. getrusage of this process). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { max_events = 256, buffer_size = 65536 };

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in addr;
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)port);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(fd, 1024) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Echoes everything readable on fd; returns 0 when the peer closed. A 64-byte
 * closed-loop echo never fills the send buffer, so a short write is treated
 * as the peer going away rather than buffered. */
static int echo_all(int fd, char* buf) {
  for (;;) {
    ssize_t n = read(fd, buf, buffer_size);
    if (n > 0) {
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = write(fd, buf + off, (size_t)(n - off));
        if (w <= 0) return 0;
        off += w;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 1;
    return 0;
  }
}

int main(int argc, char** argv) {
  static char buf[buffer_size];
  struct epoll_event events[max_events];
  struct epoll_event ev;
  int port = argc > 1 ? atoi(argv[1]) : 7000;
  int lfd = listen_on(port);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (lfd < 0 || ep < 0) {
    perror("epoll_echo");
    return 1;
  }
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  printf("listening\n");
  fflush(stdout);
  for (;;) {
    int n = epoll_wait(ep, events, max_events, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          int one = 1;
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
          ev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      if (!echo_all(fd, buf)) close(fd);
    }
  }
}
