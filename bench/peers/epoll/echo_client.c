/* The one load client every echo server is measured with: C connections on
 * one thread (epoll), each a closed loop of one M-byte message out, the same
 * M bytes back, then the next. Reports throughput and round-trip latency; the
 * driver divides the server's CPU time (wait4) by `echo_requests`.
 *
 *   echo_client <port> <peer> [connections=50] [bytes=64] [seconds=2]
 */
#define _GNU_SOURCE
#include "../common/peer_util.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

enum { max_conns = 1024, max_msg = 4096, hist_us = 100000 };

struct conn {
  int fd;
  int received;
  long long sent_at;
};

static long long hist[hist_us + 1];

static int connect_to(int port) {
  struct sockaddr_in addr;
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)port);
  if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) return -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static double percentile(long long total, double p) {
  long long want = (long long)(p * (double)total);
  long long seen = 0;
  for (int us = 0; us <= hist_us; ++us) {
    seen += hist[us];
    if (seen > want) return us;
  }
  return hist_us;
}

int main(int argc, char** argv) {
  static struct conn conns[max_conns];
  static char msg[max_msg];
  static char buf[max_msg];
  struct epoll_event events[max_conns];
  if (argc < 3) {
    fprintf(stderr, "usage: echo_client <port> <peer> [conns] [bytes] [seconds]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  const char* peer = argv[2];
  int nconn = (int)peer_arg(argc, argv, 3, 50);
  int size = (int)peer_arg(argc, argv, 4, 64);
  double seconds = argc > 5 ? atof(argv[5]) : 2.0;
  if (nconn > max_conns) nconn = max_conns;
  if (size > max_msg) size = max_msg;
  memset(msg, 'x', sizeof msg);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < nconn; ++i) {
    struct epoll_event ev;
    conns[i].fd = connect_to(port);
    if (conns[i].fd < 0) {
      perror("echo_client: connect");
      return 1;
    }
    ev.events = EPOLLIN;
    ev.data.u32 = (uint32_t)i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  long long start = peer_now_ns();
  long long deadline = start + (long long)(seconds * 1e9);
  long long done = 0;
  for (int i = 0; i < nconn; ++i) {
    conns[i].sent_at = peer_now_ns();
    if (write(conns[i].fd, msg, (size_t)size) != size) return 1;
  }
  long long now = start;
  while (now < deadline) {
    int n = epoll_wait(ep, events, max_conns, 100);
    now = peer_now_ns();
    for (int e = 0; e < n; ++e) {
      struct conn* c = &conns[events[e].data.u32];
      ssize_t r = read(c->fd, buf, (size_t)(size - c->received));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        fprintf(stderr, "echo_client: server closed\n");
        return 1;
      }
      c->received += (int)r;
      if (c->received < size) continue;
      long long us = (now - c->sent_at) / 1000;
      hist[us > hist_us ? hist_us : us]++;
      ++done;
      c->received = 0;
      c->sent_at = now;
      if (write(c->fd, msg, (size_t)size) != size) return 1;
    }
  }
  double elapsed = (double)(now - start) / 1e9;
  for (int i = 0; i < nconn; ++i) close(conns[i].fd);
  peer_report("echo_requests", peer, (double)done, "count");
  peer_report("echo_rps", peer, (double)done / elapsed, "req/s");
  peer_report("echo_p50", peer, percentile(done, 0.50), "us");
  peer_report("echo_p99", peer, percentile(done, 0.99), "us");
  return 0;
}
