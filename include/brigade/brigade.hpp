#pragma once
// The whole public API of brigade. Including individual headers is cheaper
// to compile; this umbrella only includes.

#include <brigade/callback.hpp>
#include <brigade/cancellation.hpp>
#include <brigade/cancelled.hpp>
#include <brigade/future.hpp>
#include <brigade/join_handle.hpp>
#include <brigade/metrics.hpp>
#include <brigade/runtime.hpp>
#include <brigade/runtime_options.hpp>
#include <brigade/scope.hpp>
#include <brigade/spawn.hpp>
#include <brigade/spawn_blocking.hpp>
#include <brigade/task.hpp>
#include <brigade/time/clock.hpp>
#include <brigade/time/interval.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/time/timeout.hpp>
#include <brigade/time/timer.hpp>
#include <brigade/trace.hpp>
#include <brigade/when.hpp>
