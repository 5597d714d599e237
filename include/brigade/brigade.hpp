#pragma once
// The whole public API of brigade. Including individual headers is cheaper
// to compile; this umbrella only includes.

#include <brigade/cancelled.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/metrics.hpp>
#include <brigade/runtime.hpp>
#include <brigade/runtime_options.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/when.hpp>
