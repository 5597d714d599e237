#pragma once
// brigade::net::resolve: host name lookup (getaddrinfo) off the workers.

#include <brigade/net/address.hpp>
#include <brigade/task.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace brigade::net {

/// The addresses of `host` (a name or a numeric address) with `port`, in
/// getaddrinfo's order, duplicates removed. Numeric hosts are answered at
/// once; names are looked up on the blocking pool (spawn_blocking) so no
/// worker blocks.
///
/// Resumes on: a worker of the current runtime.
/// Cancellation: total for the caller (throws brigade::cancelled at once);
/// the lookup itself finishes in the background and is discarded.
/// Thread safety: any number of concurrent lookups.
/// Throws: std::system_error ("resolve example.invalid: Name or service not
/// known", category: getaddrinfo's messages) when the lookup fails or finds
/// nothing; std::logic_error outside a task.
/// Example:
///   auto addrs = co_await brigade::net::resolve("localhost", 80);
task<std::vector<address>> resolve(std::string host, std::uint16_t port);

}  // namespace brigade::net
