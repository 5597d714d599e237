// echo_server: a TCP echo server on brigade::net, one task per connection.
//
// Shows: tcp_listener::bind/accept, spawning a task per connection, read and
// write_all on a tcp_stream, shutdown_write, and an accept loop that keeps
// serving when one connection fails.
//
// Run:  example_echo_server              serves 20 connections from its own
//                                        client tasks, checks every byte,
//                                        exits 0 (the smoke test)
//       example_echo_server --port 7000  serves 127.0.0.1:7000 forever
//                                        (try: example_echo_client --port 7000)

#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;

// One connection: echo until the client closes its side. An error (a reset
// peer) ends this task only.
bg::task<> serve(bn::tcp_stream s) {
  std::vector<char> buf(4096);
  try {
    for (;;) {
      const std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      co_await s.write_all(bn::const_buffer{buf.data(), n});
    }
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "connection %s: %s\n", s.peer_address().to_string().c_str(), e.what());
  }
  s.close();
}

bg::task<> accept_loop(bn::tcp_listener& l, long limit) {
  std::vector<bg::join_handle<void>> done;
  for (long i = 0; limit < 0 || i < limit; ++i) {
    auto [stream, peer] = co_await l.accept();  // EMFILE: backs off inside, keeps serving
    auto h = bg::spawn(serve(std::move(stream)), "conn " + peer.to_string());
    if (limit < 0)
      h.detach();
    else
      done.push_back(std::move(h));
  }
  for (auto& h : done) co_await h;
}

// The bounded demo's client: sends a line, expects it back.
bg::task<bool> client(bn::address server, int id) {
  auto s = co_await bn::tcp_stream::connect(server);
  const std::string msg = "hello from client " + std::to_string(id) + "\n";
  co_await s.write_all(msg);
  s.shutdown_write();
  std::string back(msg.size(), '\0');
  const std::size_t n = co_await s.read_exact(back);
  co_return n == msg.size() && back == msg;
}

bg::task<int> run(int port) {
  auto l =
      co_await bn::tcp_listener::bind(bn::address::loopback_v4(static_cast<std::uint16_t>(port)));
  std::printf("echo server on %s\n", l.local_address().to_string().c_str());
  if (port != 0) {
    co_await accept_loop(l, -1);
    co_return 0;
  }
  constexpr int clients = 20;
  auto server = bg::spawn(accept_loop(l, clients));
  std::vector<bg::join_handle<bool>> hs;
  for (int i = 0; i < clients; ++i) hs.push_back(bg::spawn(client(l.local_address(), i)));
  int ok = 0;
  for (auto& h : hs) ok += co_await h ? 1 : 0;
  co_await server;
  std::printf("%d/%d clients echoed correctly\n", ok, clients);
  co_return ok == clients ? 0 : 1;
}

int main(int argc, char** argv) {
  int port = 0;
  if (argc == 3 && std::strcmp(argv[1], "--port") == 0) port = std::atoi(argv[2]);
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 2}};
  return rt.block_on(run(port));
}
