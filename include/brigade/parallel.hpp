#pragma once
// CPU-bound loops on the runtime's workers: parallel_for, parallel_reduce,
// parallel_transform_reduce (DESIGN §5 "CPU-bound work").
//
// How a loop runs
//   The range [first, last) is cut into `chunks` contiguous pieces of at most
//   `grain` elements (default grain: size / (8 x workers), at least 1). The
//   chunk indices are split recursively, fork-join style: a task spawns the
//   right half of its chunk range as a new task and keeps the left half,
//   until one chunk is left, which it runs. Spawned halves land in the
//   worker's run queue, where idle workers steal them, so the work spreads
//   over every worker in O(log chunks) steps and balances itself.
//
//   Every chunk is claimed (an atomic flag) before it runs, so a chunk runs
//   exactly once whoever reaches it first. That is what lets a blocking
//   caller *participate*: after spawning, the calling thread claims and runs
//   every chunk nobody has started yet, then waits only for the chunks that
//   are running right now on other threads. It never waits for work that
//   sits in a queue, which is why a blocking parallel_for called from inside
//   a parallel_for body (on a worker) cannot deadlock: the nested call
//   completes all its unstarted chunks itself.
//
// Errors
//   The first exception thrown by the body (in any chunk) wins; chunks that
//   have not started yet are skipped, chunks already running finish, and the
//   exception is rethrown to the caller once nothing runs any more. Later
//   exceptions are dropped. (Granularity: a chunk, not an element.)
//
// Forms
//   parallel_for(rt, first, last, f)          blocking; rt is a runtime& or a
//                                             runtime_handle; any thread
//   co_await parallel_for_async(first, last, f)   in a task, on its runtime
//   each with an explicit grain: (.., first, last, grain_size{g}, f).
//   Ranges: integers (f receives each index) or random-access iterators
//   (f receives *it). parallel_reduce/parallel_transform_reduce likewise.
//
// Lifetimes: the body, the operators and the elements are used only until
// the call returns (or the awaited task completes); every chunk has finished
// by then.

#include <brigade/runtime.hpp>
#include <brigade/task.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace brigade {

/// At most this many elements per chunk; 0 (the default) picks
/// size / (8 x workers), at least 1. Smaller grains balance irregular work
/// better and cost one task per chunk.
struct grain_size {
  std::size_t value = 0;
};

namespace detail {

/// A type-erased chunk body: run(ctx, chunk, lo, hi) processes the elements
/// at offsets [lo, hi) of the range, chunk numbering them.
struct loop_body {
  void (*run)(void* ctx, std::size_t chunk, std::size_t lo, std::size_t hi) = nullptr;
  void* ctx = nullptr;
};

/// Number of chunks for `n` elements (0 for an empty range).
std::size_t loop_chunks(std::size_t n, std::size_t grain, std::size_t workers) noexcept;
/// Workers of the runtime behind `rt`, and of the runtime driving this thread.
std::size_t worker_count(const runtime_handle& rt);
std::size_t current_worker_count();
/// The loop engine (src/parallel/parallel_loop.cpp). Rethrow the first failure.
void run_loop_blocking(const runtime_handle& rt, std::size_t n, std::size_t chunks, loop_body body);
task<> run_loop_async(std::size_t n, std::size_t chunks, loop_body body);

template <class Rt>
concept runtime_ref = std::same_as<std::remove_cvref_t<Rt>, runtime> ||
    std::same_as<std::remove_cvref_t<Rt>, runtime_handle>;

inline runtime_handle handle_of(const runtime& rt) noexcept { return rt.handle(); }
inline const runtime_handle& handle_of(const runtime_handle& rt) noexcept { return rt; }

/// The integers [first, last) as a range of offsets.
template <class I>
struct index_range {
  using value_type = I;
  using unsigned_type = std::make_unsigned_t<I>;
  I first;
  std::size_t n;
  index_range(I f, I l) noexcept
      : first(f),
        n(l > f ? static_cast<std::size_t>(static_cast<unsigned_type>(l) -
                                           static_cast<unsigned_type>(f))
                : 0) {}
  std::size_t size() const noexcept { return n; }
  I operator[](std::size_t i) const noexcept {
    return static_cast<I>(static_cast<unsigned_type>(first) + static_cast<unsigned_type>(i));
  }
};

/// A random-access iterator range as a range of offsets.
template <class It>
struct iterator_range {
  It first;
  std::size_t n;
  iterator_range(It f, It l) : first(f), n(l > f ? static_cast<std::size_t>(l - f) : 0) {}
  std::size_t size() const noexcept { return n; }
  decltype(auto) operator[](std::size_t i) const {
    return *(first + static_cast<std::iter_difference_t<It>>(i));
  }
};

template <class I, class J>
auto make_range(I first, J last) noexcept requires std::integral<I> && std::integral<J> {
  using C = std::common_type_t<I, J>;
  return index_range<C>{static_cast<C>(first), static_cast<C>(last)};
}
template <std::random_access_iterator It>
iterator_range<It> make_range(It first, It last) {
  return iterator_range<It>{first, last};
}

template <class Range, class F>
struct for_context {
  const Range* range;
  F* f;
  static void run(void* ctx, std::size_t, std::size_t lo, std::size_t hi) {
    auto& c = *static_cast<for_context*>(ctx);
    const Range& r = *c.range;
    F& f = *c.f;
    for (std::size_t i = lo; i < hi; ++i) std::invoke(f, r[i]);
  }
  loop_body erase() noexcept { return loop_body{&run, this}; }
};

template <class Range, class T, class Reduce, class Transform>
struct reduce_context {
  const Range* range;
  Reduce* reduce;
  Transform* transform;
  std::unique_ptr<std::optional<T>[]> partials;

  static void run(void* ctx, std::size_t chunk, std::size_t lo, std::size_t hi) {
    auto& c = *static_cast<reduce_context*>(ctx);
    const Range& r = *c.range;
    Reduce& op = *c.reduce;
    Transform& tr = *c.transform;
    T acc(std::invoke(tr, r[lo]));  // a chunk is never empty: no identity needed
    for (std::size_t i = lo + 1; i < hi; ++i) {
      acc = std::invoke(op, std::move(acc), std::invoke(tr, r[i]));
    }
    c.partials[chunk].emplace(std::move(acc));
  }
  loop_body erase() noexcept { return loop_body{&run, this}; }
  /// init op p0 op p1 ...: chunk order, so `op` need not commute.
  T combine(T init, std::size_t chunks) {
    for (std::size_t k = 0; k < chunks; ++k) {
      init = std::invoke(*reduce, std::move(init), std::move(*partials[k]));
    }
    return init;
  }
};

template <class Range, class F>
void for_blocking(const runtime_handle& rt, const Range& r, grain_size g, F& f) {
  const std::size_t chunks = loop_chunks(r.size(), g.value, g.value ? 1 : worker_count(rt));
  for_context<Range, F> ctx{&r, &f};
  run_loop_blocking(rt, r.size(), chunks, ctx.erase());
}

template <class Range, class F>
task<> for_async(Range r, grain_size g, F f) {
  const std::size_t chunks = loop_chunks(r.size(), g.value, g.value ? 1 : current_worker_count());
  for_context<Range, F> ctx{&r, &f};
  co_await run_loop_async(r.size(), chunks, ctx.erase());
}

template <class T, class Range, class Reduce, class Transform>
reduce_context<Range, T, Reduce, Transform> make_reduce(const Range& r, Reduce& op, Transform& tr,
                                                        std::size_t chunks) {
  return {&r, &op, &tr, std::unique_ptr<std::optional<T>[]>(new std::optional<T>[chunks])};
}

template <class T, class Range, class Reduce, class Transform>
T reduce_blocking(const runtime_handle& rt, const Range& r, grain_size g, T init, Reduce& op,
                  Transform& tr) {
  const std::size_t chunks = loop_chunks(r.size(), g.value, g.value ? 1 : worker_count(rt));
  if (chunks == 0) return init;
  auto ctx = make_reduce<T>(r, op, tr, chunks);
  run_loop_blocking(rt, r.size(), chunks, ctx.erase());
  return ctx.combine(std::move(init), chunks);
}

template <class T, class Range, class Reduce, class Transform>
task<T> reduce_async(Range r, grain_size g, T init, Reduce op, Transform tr) {
  const std::size_t chunks = loop_chunks(r.size(), g.value, g.value ? 1 : current_worker_count());
  if (chunks == 0) co_return init;
  auto ctx = make_reduce<T>(r, op, tr, chunks);
  co_await run_loop_async(r.size(), chunks, ctx.erase());
  co_return ctx.combine(std::move(init), chunks);
}

template <class I, class J>
concept loop_bounds = (std::integral<I> && std::integral<J> && !std::same_as<I, bool> &&
                       !std::same_as<J, bool>) ||
                      (std::random_access_iterator<I> && std::same_as<I, J>);

template <class I, class J>
using range_t = decltype(make_range(std::declval<I>(), std::declval<J>()));
template <class I, class J>
using element_t = decltype(std::declval<const range_t<I, J>&>()[std::size_t{}]);

}  // namespace detail

/// Calls f(x) for every x in [first, last): every index of an integer range
/// (of the common type of first and last), or every *it of a random-access
/// iterator range. Blocks until every call returned; the calls run on the
/// workers of `rt` (a runtime& or runtime_handle) and on the calling thread,
/// in no particular order, concurrently.
///
/// Resumes on: the calling thread (blocking form).
/// Cancellation: none (a plain call). After a failure the chunks not yet
/// started are skipped.
/// Thread safety: any thread, including a task or a parallel_for body on a
/// worker (nested loops cannot deadlock: the caller runs every chunk nobody
/// has started, then waits only for chunks running on other threads). In a
/// task prefer `co_await parallel_for_async(...)`, which frees the worker
/// while the others finish. `f` is called concurrently from several threads.
/// On a current_thread runtime driven by nobody, the caller runs everything.
/// Throws: the first exception thrown by f (the others are dropped).
/// Example: bg::parallel_for(rt, 0, v.size(), [&](std::size_t i) { v[i] *= 2; });
template <class Rt, class I, class J, class F>
requires detail::runtime_ref<Rt> && detail::loop_bounds<I, J> &&
    std::invocable<F&, detail::element_t<I, J>>
void parallel_for(Rt&& rt, I first, J last, grain_size grain, F&& f) {
  const auto range = detail::make_range(first, last);
  detail::for_blocking(detail::handle_of(rt), range, grain, f);
}

/// parallel_for with the automatic grain (see grain_size).
template <class Rt, class I, class J, class F>
requires detail::runtime_ref<Rt> && detail::loop_bounds<I, J> &&
    std::invocable<F&, detail::element_t<I, J>>
void parallel_for(Rt&& rt, I first, J last, F&& f) {
  parallel_for(rt, first, last, grain_size{}, f);
}

/// The awaitable parallel_for, for tasks: runs on the runtime of the
/// awaiting task. The awaiting task runs the first chunk itself, then
/// suspends (freeing its worker) until every chunk has finished.
/// `f` is moved into the returned task (capture by reference what must be
/// shared).
///
/// Resumes on: the worker that finishes the last chunk (on current_thread,
/// the runtime's thread).
/// Cancellation: partial: cancelling the awaiting task skips the chunks not
/// yet started; chunks already running finish; then the await throws
/// brigade::cancelled (or the body's exception if one was thrown first).
/// Thread safety: f is called concurrently from several workers.
/// Throws: the first exception thrown by f; std::logic_error when awaited
/// outside a spawned task.
/// Example: co_await bg::parallel_for_async(0, n, [&](std::size_t i) { out[i] = g(i); });
template <class I, class J, class F>
requires detail::loop_bounds<I, J> && std::invocable < std::decay_t<F>
&, detail::element_t < I, J >> task<> parallel_for_async(I first, J last, grain_size grain, F&& f) {
  return detail::for_async(detail::make_range(first, last), grain,
                           std::decay_t<F>(std::forward<F>(f)));
}

/// parallel_for_async with the automatic grain.
template <class I, class J, class F>
requires detail::loop_bounds<I, J> && std::invocable < std::decay_t<F>
&, detail::element_t < I, J >> task<> parallel_for_async(I first, J last, F&& f) {
  return parallel_for_async(first, last, grain_size{}, std::forward<F>(f));
}

/// Reduces transform(x) for every x in [first, last) with `reduce`, starting
/// from init: the result equals
/// reduce(...reduce(reduce(init, transform(x0)), transform(x1))..., transform(xn-1))
/// whenever `reduce` is associative (it need not be commutative: partial
/// results are combined in range order). `reduce` must accept (T, T) and
/// (T, transform-result); T must be constructible from transform's result.
/// An empty range returns init.
///
/// Resumes on, Cancellation, Thread safety: as parallel_for.
/// Throws: the first exception thrown by transform or reduce.
/// Example: double s = bg::parallel_transform_reduce(rt, 0, n, 0.0, std::plus<>{},
///                                                  [&](std::size_t i) { return x[i] * y[i]; });
template <class Rt, class I, class J, class T, class Reduce, class Transform>
requires detail::runtime_ref<Rt> && detail::loop_bounds<I, J> &&
    std::invocable<Transform&, detail::element_t<I, J>>
        T parallel_transform_reduce(Rt&& rt, I first, J last, grain_size grain, T init,
                                    Reduce reduce, Transform transform) {
  const auto range = detail::make_range(first, last);
  return detail::reduce_blocking(detail::handle_of(rt), range, grain, std::move(init), reduce,
                                 transform);
}

/// parallel_transform_reduce with the automatic grain.
template <class Rt, class I, class J, class T, class Reduce, class Transform>
requires detail::runtime_ref<Rt> && detail::loop_bounds<I, J> &&
    std::invocable<Transform&, detail::element_t<I, J>>
        T parallel_transform_reduce(Rt&& rt, I first, J last, T init, Reduce reduce,
                                    Transform transform) {
  return parallel_transform_reduce(rt, first, last, grain_size{}, std::move(init),
                                   std::move(reduce), std::move(transform));
}

/// Reduces the elements of [first, last) (the indices themselves for an
/// integer range) with `op`, starting from init, like std::reduce: see
/// parallel_transform_reduce for the exact contract.
///
/// Resumes on, Cancellation, Thread safety: as parallel_for.
/// Throws: the first exception thrown by op.
/// Example: std::int64_t s = bg::parallel_reduce(rt, v.begin(), v.end(), std::int64_t{0},
///                                               std::plus<>{});
template <class Rt, class I, class J, class T, class Op>
requires detail::runtime_ref<Rt> && detail::loop_bounds<I, J> T parallel_reduce(Rt&& rt, I first,
                                                                                J last,
                                                                                grain_size grain,
                                                                                T init, Op op) {
  return parallel_transform_reduce(rt, first, last, grain, std::move(init), std::move(op),
                                   std::identity{});
}

/// parallel_reduce with the automatic grain.
template <class Rt, class I, class J, class T, class Op>
requires detail::runtime_ref<Rt> && detail::loop_bounds<I, J> T parallel_reduce(Rt&& rt, I first,
                                                                                J last, T init,
                                                                                Op op) {
  return parallel_transform_reduce(rt, first, last, grain_size{}, std::move(init), std::move(op),
                                   std::identity{});
}

/// The awaitable parallel_transform_reduce, for tasks (see
/// parallel_for_async for where it runs and parallel_transform_reduce for
/// the result). The operators are moved into the returned task.
///
/// Resumes on: the worker that finishes the last chunk.
/// Cancellation: partial, as parallel_for_async.
/// Throws: the first exception thrown by transform or reduce; brigade::cancelled;
/// std::logic_error outside a spawned task.
/// Example: auto s = co_await bg::parallel_transform_reduce_async(0, n, 0L, std::plus<>{}, cost);
template <class I, class J, class T, class Reduce, class Transform>
requires detail::loop_bounds<I, J> && std::invocable<Transform&, detail::element_t<I, J>> task<T>
parallel_transform_reduce_async(I first, J last, grain_size grain, T init, Reduce reduce,
                                Transform transform) {
  return detail::reduce_async<T>(detail::make_range(first, last), grain, std::move(init),
                                 std::move(reduce), std::move(transform));
}

/// parallel_transform_reduce_async with the automatic grain.
template <class I, class J, class T, class Reduce, class Transform>
requires detail::loop_bounds<I, J> && std::invocable<Transform&, detail::element_t<I, J>> task<T>
parallel_transform_reduce_async(I first, J last, T init, Reduce reduce, Transform transform) {
  return parallel_transform_reduce_async(first, last, grain_size{}, std::move(init),
                                         std::move(reduce), std::move(transform));
}

/// The awaitable parallel_reduce, for tasks.
///
/// Resumes on: the worker that finishes the last chunk.
/// Cancellation: partial, as parallel_for_async.
/// Throws: the first exception thrown by op; brigade::cancelled;
/// std::logic_error outside a spawned task.
/// Example: auto s = co_await bg::parallel_reduce_async(v.begin(), v.end(), 0L, std::plus<>{});
template <class I, class J, class T, class Op>
requires detail::loop_bounds<I, J> task<T> parallel_reduce_async(I first, J last, grain_size grain,
                                                                 T init, Op op) {
  return parallel_transform_reduce_async(first, last, grain, std::move(init), std::move(op),
                                         std::identity{});
}

/// parallel_reduce_async with the automatic grain.
template <class I, class J, class T, class Op>
requires detail::loop_bounds<I, J> task<T> parallel_reduce_async(I first, J last, T init, Op op) {
  return parallel_transform_reduce_async(first, last, grain_size{}, std::move(init), std::move(op),
                                         std::identity{});
}

}  // namespace brigade
