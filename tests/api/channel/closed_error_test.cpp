// brigade::channel::closed_error and channel::endpoints.
#include <brigade/channel/closed_error.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <type_traits>

namespace ch = brigade::channel;

TEST(ClosedError, IsARuntimeErrorWithAMessage) {
  static_assert(std::is_base_of_v<std::runtime_error, ch::closed_error>);
  const ch::closed_error e;
  EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos);
  EXPECT_THROW(throw ch::closed_error("custom"), std::runtime_error);
}

TEST(Endpoints, SupportsStructuredBindings) {
  ch::endpoints<int, std::string> e{1, "rx"};
  auto& [tx, rx] = e;
  EXPECT_EQ(tx, 1);
  EXPECT_EQ(rx, "rx");
  EXPECT_EQ(e.sender, 1);
  EXPECT_EQ(e.receiver, "rx");
}
