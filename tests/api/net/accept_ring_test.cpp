// accept() through the ring (issue #5): on io_uring an accept that has to
// wait submits IORING_OP_ACCEPT (a first accept) or arms a multishot accept
// whose connections queue per listener (a listener that accepted before);
// epoll keeps the readiness path. Every test runs on both backends and both
// flavors, with frame and fd accounting (api/io/io_test.hpp).

#include <brigade/cancelled.hpp>
#include <brigade/detail/sys.hpp>
#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/net/unix_listener.hpp>
#include <brigade/net/unix_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/time/timeout.hpp>

#include "api/io/io_test.hpp"
#include "support/helpers.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;
namespace sys = brigade::detail::sys;
using namespace std::chrono_literals;

namespace {

// accept4 calls on one listening fd, counted through the seam. Statics:
// a worker may be inside the wrapper while the test body changes them.
std::atomic<int> watched_listener{-1};
std::atomic<int> accept4_calls{0};

int counting_accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (fd == watched_listener.load()) accept4_calls.fetch_add(1);
  return sys::real().accept4(fd, addr, len, flags);
}

const sys::table& counting_table() {
  static const sys::table t = [] {
    sys::table c = sys::real();
    c.accept4 = &counting_accept4;
    return c;
  }();
  return t;
}

/// Installs the counting seam for a scope.
class count_accept4 {
 public:
  explicit count_accept4(int listener_fd) : previous_(sys::install(&counting_table())) {
    accept4_calls.store(0);
    watched_listener.store(listener_fd);
  }
  count_accept4(const count_accept4&) = delete;
  count_accept4& operator=(const count_accept4&) = delete;
  ~count_accept4() {
    watched_listener.store(-1);
    sys::install(previous_);
  }

 private:
  const sys::table* previous_;
};

// The backend of the running test (TEST_P sets it before the body runs).
std::atomic<bg::io_backend> backend_now{bg::io_backend::epoll};

/// Whether accepts that wait go through the ring in this test.
bool ring_accepts() {
  return backend_now.load() == bg::io_backend::io_uring &&
         bg::testing::uring_completions_available();
}

std::string message(int i) { return "connection " + std::to_string(i) + " says hello"; }

/// One round trip: `msg` from the client, echoed by the server side.
bg::task<bool> round_trip(bn::tcp_stream& client, bn::tcp_stream& server, std::string msg) {
  co_await client.write_all(msg);
  std::string got(msg.size(), '\0');
  if (co_await server.read_exact(got) != got.size()) co_return false;
  co_await server.write_all(got);
  std::string back(msg.size(), '\0');
  if (co_await client.read_exact(back) != back.size()) co_return false;
  co_return back == msg;
}

bg::task<> echo(bn::tcp_stream s) {
  std::vector<char> buf(4096);
  for (;;) {
    const std::size_t n = co_await s.read(buf);
    if (n == 0) co_return;
    co_await s.write_all(bn::const_buffer{buf.data(), n});
  }
}

/// Polls the fd count (the driver closes late arrivals when it reaps them).
bg::task<int> fds_settle_at(int want) {
  for (int i = 0; i < 400 && bg::testing::open_fds() != want; ++i) co_await bg::sleep(5ms);
  co_return bg::testing::open_fds();
}

bg::task<bn::accepted> accept_one(bn::tcp_listener& l) { co_return co_await l.accept(); }

/// Arms the listener's multishot and stops accepting: an accept that waits
/// (on io_uring it armed the multishot before it parked), then aborted. It
/// waits until the dump shows the accept parked on the listener: a fixed
/// number of yields is not enough when another worker runs the accept
/// late (seen under ASan on a loaded machine). Bounded.
bg::task<> arm_then_abort(bn::tcp_listener& l) {
  auto waiting = bg::spawn(accept_one(l), "parked-accept");
  const std::string where = "read fd " + std::to_string(l.native_handle());
  EXPECT_TRUE(co_await bg::testing::until_parked("parked-accept", where))
      << "the accept never waited";
  waiting.abort();
  bool cancelled = false;
  try {
    (void)co_await waiting;
  } catch (const bg::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
}

/// A client connected with a plain blocking connect(2): the handshake
/// completes inside the call, so the server's accept completes in the
/// kernel while the runtime has not run yet (its CQE waits in the ring).
bn::tcp_stream connect_blocking(const bn::address& to) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(::connect(fd, to.data(), to.size()), 0);
  EXPECT_EQ(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
  return bn::tcp_stream::adopt(fd, to);
}

}  // namespace

#define ACCEPT_RING_TEST(name)                                      \
  static bg::task<void> accept_ring_body_##name();                  \
  TEST_P(AcceptRing, name) {                                        \
    backend_now.store(GetParam());                                  \
    bg::testing::run_io_test(&accept_ring_body_##name, GetParam()); \
  }                                                                 \
  static bg::task<void> accept_ring_body_##name()

BRIGADE_IO_SUITE(AcceptRing);

// An accept loop whose accepts all wait (each client connects only after
// the server is parked in accept): the first through a single-shot ring
// accept, the rest through the multishot queue. Byte-exact echo on each.
ACCEPT_RING_TEST(AcceptLoopServesEveryConnectionByteExact) {
  constexpr int conns = 20;
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  count_accept4 counting(l.native_handle());
  auto server = bg::spawn(
      [](bn::tcp_listener& lst) -> bg::task<> {
        for (int i = 0; i < conns; ++i) {
          auto a = co_await lst.accept();
          // A queued fd's peer comes from getpeername (a multishot reports none).
          EXPECT_EQ(a.peer.to_string().rfind("127.0.0.1:", 0), 0u) << a.peer.to_string();
          EXPECT_NE(a.peer.port(), 0u);
          bg::spawn(echo(std::move(a.stream))).detach();
        }
      }(l),
      "accept-loop");
  const std::string listener_fd = "read fd " + std::to_string(l.native_handle());
  for (int i = 0; i < conns; ++i) {
    // The server has tried accept4 (EAGAIN) and waits: the connection
    // reaches it through the ring (io_uring) or a readiness wake (epoll).
    EXPECT_TRUE(co_await bg::testing::until_parked("accept-loop", listener_fd));
    auto c = co_await bn::tcp_stream::connect(l.local_address());
    const std::string msg = message(i);
    co_await c.write_all(msg);
    std::string back(msg.size(), '\0');
    EXPECT_EQ(co_await c.read_exact(back), back.size());
    EXPECT_EQ(back, msg);
  }
  co_await server;
  if (ring_accepts()) {
    // One EAGAIN before the single-shot accept, one before arming the
    // multishot; a re-arm after a multishot ends would add one each.
    EXPECT_LE(accept4_calls.load(), 6) << "accepts did not come from the ring";
  } else {
    EXPECT_GE(accept4_calls.load(), conns);
  }
}

// A burst of concurrent connects to a listener in an accept loop: every
// one is accepted and served; on io_uring they come from the multishot
// queue, with no accept4 call per connection.
ACCEPT_RING_TEST(BurstOfConnectsIsAcceptedFromTheQueue) {
  constexpr int burst = 24;  // below the queue's capacity (32)
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  {
    // One connection first: the listener is now an accept loop.
    auto accepting = bg::spawn(accept_one(l));
    auto c = co_await bn::tcp_stream::connect(l.local_address());
    auto a = co_await accepting;
    EXPECT_TRUE(co_await round_trip(c, a.stream, "warm-up"));
  }
  count_accept4 counting(l.native_handle());
  auto server = bg::spawn(
      [](bn::tcp_listener& lst) -> bg::task<> {
        for (int i = 0; i < burst; ++i) {
          auto a = co_await lst.accept();
          bg::spawn(echo(std::move(a.stream))).detach();
        }
      }(l),
      "accept-loop");
  // Until the server is parked in accept (else the burst waits in the
  // backlog and each connection costs an accept4).
  const std::string listener_fd = "read fd " + std::to_string(l.native_handle());
  EXPECT_TRUE(co_await bg::testing::until_parked("accept-loop", listener_fd));
  std::vector<bg::join_handle<bool>> clients;
  for (int i = 0; i < burst; ++i) {
    clients.push_back(bg::spawn([](bn::address to, std::string msg) -> bg::task<bool> {
      auto c = co_await bn::tcp_stream::connect(to);
      co_await c.write_all(msg);
      std::string back(msg.size(), '\0');
      co_await c.read_exact(back);
      co_return back == msg;
    }(l.local_address(), message(i))));
  }
  int echoed = 0;
  for (auto& h : clients) echoed += (co_await h) ? 1 : 0;
  co_await server;
  EXPECT_EQ(echoed, burst);
  if (ring_accepts()) {
    EXPECT_LE(accept4_calls.load(), 4) << "the burst was not taken from the multishot queue";
  } else {
    EXPECT_GE(accept4_calls.load(), burst);
  }
}

// More connections than the queue holds while nobody accepts: once the
// queue reached its capacity the multishot is cancelled, so later
// connections wait in the kernel's backlog (a burst already pending when
// the kernel ran the multishot may overshoot the capacity: it accepts the
// whole backlog at once). Every connection is still served afterwards.
ACCEPT_RING_TEST(BackPressureStopsTheMultishotAtCapacity) {
  constexpr int first_wave = 40;  // > the queue's capacity (32)
  constexpr int second_wave = 20;
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0", {.backlog = 128});
  {
    auto accepting = bg::spawn(accept_one(l));
    auto c = co_await bn::tcp_stream::connect(l.local_address());
    (void)co_await accepting;
  }
  co_await arm_then_abort(l);
  const int base = bg::testing::open_fds();
  std::vector<bn::tcp_stream> clients;
  for (int i = 0; i < first_wave; ++i) {
    clients.push_back(co_await bn::tcp_stream::connect(l.local_address()));
  }
  auto queued = [&] { return bg::testing::open_fds() - base - static_cast<int>(clients.size()); };
  for (int k = 0; k < 400 && queued() < 32 && ring_accepts(); ++k) co_await bg::sleep(5ms);
  const int after_first = queued();
  for (int i = 0; i < second_wave; ++i) {
    clients.push_back(co_await bn::tcp_stream::connect(l.local_address()));
  }
  for (int k = 0; k < 10; ++k) co_await bg::sleep(2ms);
  const int after_second = queued();
  std::printf("[back-pressure] queued while nobody accepted: %d of %d, then %d of %d\n",
              after_first, first_wave, after_second, first_wave + second_wave);
  if (ring_accepts()) {
    EXPECT_GE(after_first, 32) << "the multishot did not queue the first wave";
    EXPECT_EQ(after_second, after_first) << "the multishot kept accepting past its capacity";
  } else {
    EXPECT_EQ(after_second, 0);
  }
  for (int i = 0; i < first_wave + second_wave; ++i) {
    auto a = co_await l.accept();
    co_await a.stream.write_all(message(i));
  }
  // Each client got exactly one greeting (which one is the queue's order).
  int greeted = 0;
  for (auto& c : clients) {
    char buf[64];
    const std::size_t n = co_await c.read(buf);
    greeted += std::string(buf, n).rfind("connection ", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(greeted, first_wave + second_wave);
}

// An accept aborted while a connection arrives completes exactly once:
// either it returns the connection, or it is cancelled and the next
// accept() gets it. Half the rounds use a fresh listener (single-shot
// IORING_OP_ACCEPT, cancelled with ASYNC_CANCEL), half a listener in a
// loop (the multishot queue). No fd leaks (fd accounting).
ACCEPT_RING_TEST(AbortedAcceptCompletesExactlyOnce) {
  constexpr int rounds = 300;
  int completed = 0;
  int cancelled = 0;
  auto loop_listener = co_await bn::tcp_listener::bind("127.0.0.1:0");
  for (int i = 0; i < rounds; ++i) {
    bn::tcp_listener fresh;
    if (i % 2 == 0) fresh = co_await bn::tcp_listener::bind("127.0.0.1:0");
    bn::tcp_listener& l = i % 2 == 0 ? fresh : loop_listener;
    auto acceptor = bg::spawn(accept_one(l));
    for (int k = 0; k < i % 4; ++k) co_await bg::yield_now();
    // Most rounds abort while the accept's completion waits in the ring.
    bn::tcp_stream c;
    if (i % 5 == 0) {
      c = co_await bn::tcp_stream::connect(l.local_address());
    } else {
      c = connect_blocking(l.local_address());
    }
    for (int k = 0; k < (i / 4) % 3; ++k) co_await bg::yield_now();
    acceptor.abort();
    bn::tcp_stream s;
    try {
      s = (co_await acceptor).stream;
      ++completed;
    } catch (const bg::cancelled&) {
      ++cancelled;
    }
    if (!s.is_open()) s = (co_await l.accept()).stream;  // the connection waited
    EXPECT_TRUE(co_await round_trip(c, s, message(i))) << "round " << i;
  }
  EXPECT_EQ(completed + cancelled, rounds);
  std::printf("[accept abort] %d completed, %d cancelled\n", completed, cancelled);
}

// Closing a listener whose multishot queue holds connections closes them
// (their clients see the connection end) and leaks no fd.
ACCEPT_RING_TEST(ClosingTheListenerClosesQueuedConnections) {
  constexpr int conns = 10;
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  {
    auto accepting = bg::spawn(accept_one(l));
    auto c = co_await bn::tcp_stream::connect(l.local_address());
    (void)co_await accepting;
  }
  co_await arm_then_abort(l);
  const int base = bg::testing::open_fds();
  std::vector<bn::tcp_stream> clients;
  for (int i = 0; i < conns; ++i) {
    clients.push_back(co_await bn::tcp_stream::connect(l.local_address()));
  }
  if (ring_accepts()) {
    EXPECT_EQ(co_await fds_settle_at(base + 2 * conns), base + 2 * conns)
        << "the multishot did not queue the connections";
  }
  l.close();  // base counted the listener's own fd
  EXPECT_EQ(co_await fds_settle_at(base - 1 + conns), base - 1 + conns)
      << "queued connections leaked";
  for (auto& c : clients) {
    char buf[8];
    bool ended = false;
    try {
      ended = co_await c.read(buf) == 0;
    } catch (const std::system_error& e) {
      ended = e.code().value() == ECONNRESET;
    }
    EXPECT_TRUE(ended);
  }
}

// The same machinery behind unix_listener: a loop of waiting accepts,
// then an aborted one whose connection the next accept gets.
ACCEPT_RING_TEST(UnixAcceptLoopAndAbort) {
  const std::string path = "/tmp/brigade-accept-ring-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  auto l = co_await bn::unix_listener::bind(path);
  for (int i = 0; i < 10; ++i) {
    auto acceptor = bg::spawn([](bn::unix_listener& lst) -> bg::task<bn::unix_stream> {
      co_return co_await lst.accept();
    }(l));
    for (int k = 0; k < 20; ++k) co_await bg::yield_now();
    auto c = co_await bn::unix_stream::connect(path);
    if (i % 2 == 1) acceptor.abort();
    bn::unix_stream s;
    try {
      s = co_await acceptor;
    } catch (const bg::cancelled&) {
      EXPECT_EQ(i % 2, 1);
    }
    if (!s.is_open()) s = co_await l.accept();  // the connection waited
    const std::string msg = message(i);
    co_await c.write_all(msg);
    std::string got(msg.size(), '\0');
    EXPECT_EQ(co_await s.read_exact(got), got.size());
    EXPECT_EQ(got, msg);
  }
  l.close();
  ::unlink(path.c_str());
}

// connect keeps the readiness path on io_uring (IORING_OP_CONNECT after an
// EINPROGRESS answers EALREADY at once): a connect whose SYN the full
// backlog drops stays in progress until a timeout cancels it (its socket is
// closed: fd accounting); a refused connect still names the address.
ACCEPT_RING_TEST(ConnectInProgressIsCancelledAndRefusedNamesTheAddress) {
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0", {.backlog = 1});
  std::vector<bn::tcp_stream> queued;
  int timed_out = 0;
  for (int i = 0; i < 8 && timed_out == 0; ++i) {
    auto attempt = bn::tcp_stream::connect(l.local_address());
    try {
      queued.push_back(co_await bg::timeout(200ms, std::move(attempt)));
    } catch (const bg::timed_out&) {
      ++timed_out;
    }
  }
  EXPECT_EQ(timed_out, 1) << "the backlog never filled: no connect stayed in progress";
  l.close();
  bn::address gone = l.local_address();
  try {
    co_await bn::tcp_stream::connect(gone);
    ADD_FAILURE() << "connect succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_EQ(std::string(e.what()).rfind("connect " + gone.to_string(), 0), 0u) << e.what();
  }
}

// The runtime shuts down while a server task waits in accept() with a
// multishot armed and connections arriving: the waiting frame is destroyed
// (its listener with it), the reactor cancels the multishot and closes the
// fds of CQEs nobody read. Fd and frame accounting (run_io_test) and LSan
// check that nothing is left.
ACCEPT_RING_TEST(ShutdownWithAMultishotArmedLeaksNothing) {
  auto l = co_await bn::tcp_listener::bind("127.0.0.1:0");
  const bn::address where = l.local_address();
  auto server = bg::spawn([](bn::tcp_listener lst) -> bg::task<> {
    std::vector<bn::tcp_stream> kept;
    for (;;) kept.push_back((co_await lst.accept()).stream);
  }(std::move(l)));
  server.detach();
  std::vector<bn::tcp_stream> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(co_await bn::tcp_stream::connect(where));
    for (int k = 0; k < 10; ++k) co_await bg::yield_now();
  }
  // Two more whose accept may still be in flight when the runtime stops.
  clients.push_back(connect_blocking(where));
  clients.push_back(connect_blocking(where));
}
