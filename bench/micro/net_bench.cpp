// Micro benchmarks of brigade::net over loopback (PERFORMANCE.md: "echo, 50
// connections, 64-byte messages"): for each I/O backend,
//   BM_echo_round_trip   one connection, 64-byte ping-pong: wall ns per
//                        round trip (client and server tasks in one runtime);
//   BM_echo_50_conns     a single-threaded server (current_thread runtime on
//                        its own thread) and a client runtime on another
//                        thread driving 50 connections: requests/s and the
//                        server thread's CPU µs per request (getrusage
//                        RUSAGE_THREAD), the figure the targets compare;
//   BM_echo_50_conns_raw_epoll  the same client against a hand-written
//                        edge-triggered epoll echo loop: the reference cost of
//                        the syscalls themselves.
// Build: add micro/net_bench.cpp to brigade_micro_bench (bench/CMakeLists.txt).

#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>

#include <benchmark/benchmark.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <system_error>
#include <thread>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;

namespace {

constexpr std::size_t message = 64;
constexpr int connections = 50;

double thread_cpu_us() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

bg::io_backend backend_of(const benchmark::State& state) {
  return state.range(0) == 0 ? bg::io_backend::epoll : bg::io_backend::io_uring;
}

bool make_runtime_or_skip(benchmark::State& state, bg::io_backend b) {
  try {
    bg::runtime probe{bg::runtime_options{.flavor = bg::flavor::current_thread, .io = b}};
    return true;
  } catch (const std::system_error& e) {
    state.SkipWithError(e.what());
    return false;
  }
}

bg::task<> echo_connection(bn::tcp_stream s) {
  char buf[4096];
  try {
    for (;;) {
      const std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      co_await s.write_all(bn::const_buffer{buf, n});
    }
  } catch (const std::system_error&) {
  }
  s.close();
}

bg::task<> echo_server(bn::tcp_listener& l, int count) {
  std::vector<bg::join_handle<void>> conns;
  for (int i = 0; i < count; ++i) {
    auto a = co_await l.accept();
    a.stream.set_nodelay(true);
    conns.push_back(bg::spawn(echo_connection(std::move(a.stream))));
  }
  for (auto& c : conns) co_await c;
}

/// One client connection: `requests` round trips of 64 bytes.
bg::task<> client_connection(bn::address server, long requests) {
  auto s = co_await bn::tcp_stream::connect(server);
  s.set_nodelay(true);
  char out[message];
  char in[message];
  std::memset(out, 'x', sizeof out);
  for (long i = 0; i < requests; ++i) {
    co_await s.write_all(bn::const_buffer{out, sizeof out});
    co_await s.read_exact(in);
  }
}

bg::task<> clients(bn::address server, int count, long requests_each) {
  std::vector<bg::join_handle<void>> hs;
  for (int i = 0; i < count; ++i) hs.push_back(bg::spawn(client_connection(server, requests_each)));
  for (auto& h : hs) co_await h;
}

void BM_echo_round_trip(benchmark::State& state) {
  const bg::io_backend b = backend_of(state);
  if (!make_runtime_or_skip(state, b)) return;
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::current_thread, .io = b}};
  for (auto _ : state) {
    const long n = 20000;
    const auto start = std::chrono::steady_clock::now();
    rt.block_on([](long requests) -> bg::task<> {
      auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
      auto server = bg::spawn(echo_server(l, 1));
      co_await client_connection(l.local_address(), requests);
      co_await server;
    }(n));
    const double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now() - start)
                                              .count());
    state.counters["ns_per_round_trip"] = ns / static_cast<double>(n);
  }
}

/// Runs the 50-connection client on its own current_thread runtime against
/// `server`; returns wall seconds.
double run_clients(bn::address server, long requests_each, bg::io_backend b) {
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::current_thread, .io = b}};
  const auto start = std::chrono::steady_clock::now();
  rt.block_on(clients(server, connections, requests_each));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void report(benchmark::State& state, double server_cpu_us, double seconds, long requests) {
  state.counters["server_cpu_us_per_req"] = server_cpu_us / static_cast<double>(requests);
  state.counters["requests_per_s"] = static_cast<double>(requests) / seconds;
}

void BM_echo_50_conns(benchmark::State& state) {
  const bg::io_backend b = backend_of(state);
  if (!make_runtime_or_skip(state, b)) return;
  const long each = 4000;
  for (auto _ : state) {
    std::promise<bn::address> bound;
    auto bound_f = bound.get_future();
    double server_cpu = 0;
    std::thread server([&] {
      bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::current_thread, .io = b}};
      const double before = thread_cpu_us();
      rt.block_on([](std::promise<bn::address>& p) -> bg::task<> {
        auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
        p.set_value(l.local_address());
        co_await echo_server(l, connections);
      }(bound));
      server_cpu = thread_cpu_us() - before;
    });
    const double seconds = run_clients(bound_f.get(), each, b);
    server.join();
    report(state, server_cpu, seconds, each * connections);
  }
}

/// The reference: a hand-written edge-triggered epoll echo loop (one thread,
/// read until EAGAIN, write back, no runtime at all).
void raw_epoll_server(int listen_fd, int expected, double& cpu_us) {
  const double before = thread_cpu_us();
  const int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = listen_fd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  int accepted = 0;
  int closed = 0;
  epoll_event events[256];
  char buf[4096];
  while (closed < expected) {
    const int n = ::epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd) {
        for (;;) {
          const int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          const int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLET;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          ++accepted;
        }
        continue;
      }
      for (;;) {
        const ssize_t r = ::read(fd, buf, sizeof buf);
        if (r > 0) {
          // 64-byte messages always fit the socket buffer: no EAGAIN here.
          [[maybe_unused]] const ssize_t w =
              ::send(fd, buf, static_cast<std::size_t>(r), MSG_NOSIGNAL);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          ::close(fd);
          ++closed;
        }
        break;
      }
    }
  }
  ::close(ep);
  cpu_us = thread_cpu_us() - before;
}

void BM_echo_50_conns_raw_epoll(benchmark::State& state) {
  const long each = 4000;
  for (auto _ : state) {
    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::listen(lfd, 1024);
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
    double server_cpu = 0;
    std::thread server([&] { raw_epoll_server(lfd, connections, server_cpu); });
    const double seconds =
        run_clients(bn::address::loopback_v4(ntohs(sa.sin_port)), each, bg::io_backend::epoll);
    server.join();
    ::close(lfd);
    report(state, server_cpu, seconds, each * connections);
  }
}

}  // namespace

BENCHMARK(BM_echo_round_trip)->ArgName("uring")->Arg(0)->Arg(1)->Iterations(3)->UseRealTime();
BENCHMARK(BM_echo_50_conns)->ArgName("uring")->Arg(0)->Arg(1)->Iterations(3)->UseRealTime();
BENCHMARK(BM_echo_50_conns_raw_epoll)->Iterations(3)->UseRealTime();
