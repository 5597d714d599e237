// echo_client: a TCP echo client on brigade::net that checks every byte.
//
// Shows: tcp_stream::connect, full duplex (one task writes while another
// reads the same stream), read_exact, shutdown_write, errors as
// std::system_error.
//
// Run:  example_echo_client              starts a tiny echo server of its own
//                                        on 127.0.0.1:0, runs 10 clients,
//                                        exits 0 (the smoke test)
//       example_echo_client --port 7000  talks to 127.0.0.1:7000
//                                        (e.g. example_echo_server --port 7000)

#include <brigade/net/tcp_listener.hpp>
#include <brigade/net/tcp_stream.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

namespace bg = brigade;
namespace bn = brigade::net;

// Sends `size` patterned bytes and checks that the same bytes come back.
bg::task<bool> one_client(bn::address server, int id, std::size_t size) {
  auto s = co_await bn::tcp_stream::connect(server);
  std::vector<char> out(size);
  for (std::size_t i = 0; i < size; ++i)
    out[i] = static_cast<char>((i + static_cast<std::size_t>(id)) % 251);
  auto writer = bg::spawn([](bn::tcp_stream& st, const std::vector<char>& d) -> bg::task<> {
    co_await st.write_all(d);
    st.shutdown_write();
  }(s, out));
  std::vector<char> in(size);
  const std::size_t n = co_await s.read_exact(in);
  co_await writer;
  co_return n == size&& in == out;
}

bg::task<> tiny_echo_server(bn::tcp_listener& l, int connections) {
  for (int i = 0; i < connections; ++i) {
    auto [s, peer] = co_await l.accept();
    bg::spawn([](bn::tcp_stream st) -> bg::task<> {
      std::vector<char> buf(4096);
      while (std::size_t n = co_await st.read(buf))
        co_await st.write_all(bn::const_buffer{buf.data(), n});
      st.close();
    }(std::move(s)))
        .detach();
  }
}

bg::task<int> run(int port) {
  constexpr int clients = 10;
  bn::tcp_listener own;
  bn::address server = bn::address::loopback_v4(static_cast<std::uint16_t>(port));
  bg::join_handle<void> own_server;
  if (port == 0) {
    own = co_await bn::tcp_listener::bind("127.0.0.1:0");
    server = own.local_address();
    own_server = bg::spawn(tiny_echo_server(own, clients));
  }
  std::vector<bg::join_handle<bool>> hs;
  for (int i = 0; i < clients; ++i) hs.push_back(bg::spawn(one_client(server, i, 64 * 1024)));
  int ok = 0;
  for (auto& h : hs) {
    try {
      ok += co_await h ? 1 : 0;
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "client failed: %s\n", e.what());
    }
  }
  if (own_server.valid()) co_await own_server;
  std::printf("%d/%d clients got their bytes back from %s\n", ok, clients,
              server.to_string().c_str());
  co_return ok == clients ? 0 : 1;
}

int main(int argc, char** argv) {
  int port = 0;
  if (argc == 3 && std::strcmp(argv[1], "--port") == 0) port = std::atoi(argv[2]);
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::current_thread}};
  return rt.block_on(run(port));
}
