#pragma once
// brigade::channel::closed_error and the {sender, receiver} pair that every
// channel factory returns.

#include <stdexcept>

namespace brigade::channel {

/// Thrown where a channel has no value to return and its API returns T
/// itself (awaiting a oneshot_receiver whose sender was dropped unsent).
/// Elsewhere a closed channel is a value: std::nullopt, or a send that
/// returns false.
class closed_error : public std::runtime_error {
 public:
  closed_error() : std::runtime_error("brigade: channel closed") {}
  explicit closed_error(const char* what) : std::runtime_error(what) {}
};

/// What the channel factories return: `auto [tx, rx] = channel::mpsc<T>(n);`
/// (an aggregate, so structured bindings and `.sender` / `.receiver` work).
template <class Sender, class Receiver>
struct endpoints {
  Sender sender;
  Receiver receiver;
};

}  // namespace brigade::channel
