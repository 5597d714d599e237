/* libuv (1.44, libuv1-dev): callbacks on one loop, no tasks. It has a form
 * for the cases built on waiting (timers, idle waits, the echo server) and
 * none for spawn/yield/channels, which print n/a.
 *
 *   uv_peer <case> [n]
 *
 * Cases: timers (10^6 uv_timer_t, random 0-100 ms: libuv timers have
 * millisecond resolution), idle_timer_bytes (bytes per pending uv_timer_t: a
 * callback's state, not a task's), echo <port>. */
#include "../common/peer_util.h"

#include <stdint.h>
#include <uv.h>

static const char* const peer = "libuv";

static long long fired;
static void on_timer(uv_timer_t* t) {
  (void)t;
  ++fired;
}

static void timers(long long n) {
  uv_loop_t* loop = uv_default_loop();
  uv_timer_t* all = malloc(sizeof(uv_timer_t) * (size_t)n);
  unsigned long long x = 42;
  long long start = peer_now_ns();
  for (long long i = 0; i < n; ++i) {
    uv_timer_init(loop, &all[i]);
    uv_timer_start(&all[i], on_timer, (peer_xorshift(&x) % 100001) / 1000, 0);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  if (fired != n) fprintf(stderr, "timers: %lld fired\n", fired);
  peer_report("timers", peer, (double)(peer_now_ns() - start) / 1e6, "ms");
  peer_report("timers_rss", peer, (double)peer_peak_rss_bytes() / 1e6, "MB");
}

static void idle_timer_bytes(long long n) {
  uv_loop_t* loop = uv_default_loop();
  long long before = peer_rss_bytes();
  for (long long i = 0; i < n; ++i) {
    uv_timer_t* t = malloc(sizeof(uv_timer_t));
    uv_timer_init(loop, t);
    uv_timer_start(t, on_timer, 3600 * 1000, 0);
  }
  long long after = peer_rss_bytes();
  peer_report("idle_timer_bytes", peer, (double)(after - before) / (double)n, "bytes");
}

/* ---- echo ---------------------------------------------------------------- */

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} write_req;

static void on_close(uv_handle_t* h) { free(h); }

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  static char slab[65536];
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(slab, sizeof slab);
}

static void on_written(uv_write_t* req, int status) {
  write_req* w = (write_req*)req;
  (void)status;
  free(w->buf.base);
  free(w);
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  if (n < 0) {
    uv_close((uv_handle_t*)s, on_close);
    return;
  }
  if (n == 0) return;
  uv_buf_t out = uv_buf_init(buf->base, (unsigned)n);
  int w = uv_try_write(s, &out, 1);
  if (w == n) return;
  if (w < 0) w = 0;
  /* The rest goes through a queued write with its own copy. */
  write_req* req = malloc(sizeof *req);
  req->buf = uv_buf_init(malloc((size_t)(n - w)), (unsigned)(n - w));
  memcpy(req->buf.base, buf->base + w, (size_t)(n - w));
  uv_write(&req->req, s, &req->buf, 1, on_written);
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  uv_tcp_t* c = malloc(sizeof(uv_tcp_t));
  uv_tcp_init(server->loop, c);
  if (uv_accept(server, (uv_stream_t*)c) != 0) {
    uv_close((uv_handle_t*)c, on_close);
    return;
  }
  uv_tcp_nodelay(c, 1);
  uv_read_start((uv_stream_t*)c, on_alloc, on_read);
}

static int echo(int port) {
  static uv_tcp_t server;
  struct sockaddr_in addr;
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", port, &addr);
  if (uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0) != 0 ||
      uv_listen((uv_stream_t*)&server, 1024, on_connection) != 0) {
    fprintf(stderr, "uv_peer: cannot listen on %d\n", port);
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: uv_peer <case> [n]\n");
    return 2;
  }
  if (strcmp(argv[1], "timers") == 0) {
    timers(peer_arg(argc, argv, 2, 1000000));
  } else if (strcmp(argv[1], "idle_timer_bytes") == 0) {
    idle_timer_bytes(peer_arg(argc, argv, 2, 100000));
  } else if (strcmp(argv[1], "echo") == 0) {
    return echo((int)peer_arg(argc, argv, 2, 7000));
  } else {
    peer_na(argv[1], peer, "no-libuv-form");
  }
  return 0;
}
