// Runs the CUDA device code of src/cuda/*.cuh on the CPU, so that machines without a GPU (CI) test its
// logic. Every thread of a launch is a fiber (ucontext) on the calling thread; __syncthreads is a barrier
// of its block, a warp shuffle an exchange among its warp's 32 threads, the grid barrier (the persistent
// kernel's) one of all threads. Warps run in a random priority order, each as far as the barriers let it
// (see launch), so missing barriers show as wrong results. Included before the device headers in place
// of nvcc, it maps CUDA's qualifiers, built-in variables and intrinsics to host code with the same
// arithmetic (IEEE float operations rounded to nearest, no fused multiply-add), so the results are the
// device code's up to the GPU's own expf and tanhf. It checks what the code computes and how its threads
// synchronise, not its speed or the GPU's memory model.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

// Host code for what nvcc would compile for the device.
#undef __device__
#define __device__
#undef __host__
#define __host__
#undef __forceinline__
#define __forceinline__ inline

namespace simt {

// A barrier of `expected` emulated threads: the last to arrive opens the next generation.
struct Barrier {
  explicit Barrier(unsigned n) : expected(n) {}
  unsigned expected, arrived = 0;
  uint64_t generation = 0;
  uint64_t arrive();          // returns the generation to wait out
  void wait(uint64_t token);  // until the generation has moved on
  void arrive_and_wait() { wait(arrive()); }
};

struct Warp {
  Barrier sync{32};
  uint64_t slot[32] = {};
};

struct Block {
  explicit Block(unsigned threads) : sync(threads) {
    for (unsigned w = 0; w < threads / 32; ++w) warps.push_back(std::make_unique<Warp>());
  }
  Barrier sync;
  std::vector<std::unique_ptr<Warp>> warps;
};

// One emulated thread: its built-in variables, its groups and its own stack and context.
struct Thread {
  uint3 thread_idx{}, block_idx{};
  dim3 block_dim, grid_dim;
  Block* block = nullptr;
  Warp* warp = nullptr;
  Barrier* grid = nullptr;
  ucontext_t context{};
  std::unique_ptr<char[]> stack;
  bool done = false;
};

// The scheduler: every emulated thread is a fiber on the calling OS thread, run in turn until it waits
// at a barrier or finishes (so a launch is deterministic, and a barrier costs a context switch).
struct Scheduler {
  ucontext_t main{};
  Thread* current = nullptr;
  uint64_t progress = 0;  // arrivals and finishes: unchanged over a whole round means a deadlock
  const std::function<void()>* body = nullptr;
  std::exception_ptr error;
};
inline Scheduler scheduler;
inline Thread* self_ptr() { return scheduler.current; }
#define SIMT_SELF (*::simt::self_ptr())

inline void yield() { swapcontext(&scheduler.current->context, &scheduler.main); }

inline uint64_t Barrier::arrive() {
  const uint64_t token = generation;
  ++scheduler.progress;
  if (++arrived == expected) {
    arrived = 0;
    ++generation;
  }
  return token;
}

inline void Barrier::wait(uint64_t token) {
  while (generation == token) yield();
}

// A barrier of the whole grid, in the interface of cooperative groups' grid_group (split arrive and wait).
struct GridBarrier {
  using arrival_token = uint64_t;
  arrival_token barrier_arrive() const { return SIMT_SELF.grid->arrive(); }
  void barrier_wait(arrival_token&& token) const { SIMT_SELF.grid->wait(token); }
};

inline void fiber_entry() {
  try {
    (*scheduler.body)();
  } catch (...) {
    if (!scheduler.error) scheduler.error = std::current_exception();
  }
  scheduler.current->done = true;
  ++scheduler.progress;
  swapcontext(&scheduler.current->context, &scheduler.main);
}

// The thread's stack and a context that starts it in fiber_entry (apart from launch's loop: getcontext
// returns twice, like setjmp).
[[gnu::noinline]] inline void make_fiber(Thread& th) {
  constexpr size_t kStack = 128 * 1024;  // the device code keeps small arrays on the stack only
  th.stack.reset(new char[kStack]);
  getcontext(&th.context);
  th.context.uc_stack.ss_sp = th.stack.get();
  th.context.uc_stack.ss_size = kStack;
  th.context.uc_link = nullptr;
  makecontext(&th.context, fiber_entry, 0);
}

// Runs fn on grid x block emulated threads (one-dimensional; block a multiple of 32), each with its own
// threadIdx / blockIdx; returns when all have finished, rethrowing the first exception one threw. A
// round in which no thread arrives anywhere or finishes is a deadlock (mismatched barriers): it throws.
inline void launch(unsigned grid, unsigned block, const std::function<void()>& fn) {
  Barrier grid_barrier(grid * block);
  std::vector<std::unique_ptr<Block>> blocks;
  for (unsigned b = 0; b < grid; ++b) blocks.push_back(std::make_unique<Block>(block));
  std::vector<std::unique_ptr<Thread>> threads;
  for (unsigned b = 0; b < grid; ++b)
    for (unsigned t = 0; t < block; ++t) {
      auto th = std::make_unique<Thread>();
      th->thread_idx = {t, 0, 0};
      th->block_idx = {b, 0, 0};
      th->block_dim = dim3(block);
      th->grid_dim = dim3(grid);
      th->block = blocks[b].get();
      th->warp = blocks[b]->warps[t / 32].get();
      th->grid = &grid_barrier;
      make_fiber(*th);
      threads.push_back(std::move(th));
    }
  scheduler.body = &fn;
  scheduler.error = nullptr;
  // Warps run by priority, a random order drawn per launch: each runs as far as it can (until every
  // lane waits at a barrier that others must open) before the next one gets a turn, so some warps and
  // blocks run whole stages ahead of others. Any interleaving the barriers allow is legal on a GPU; this
  // one makes a missing __syncthreads or grid barrier let a warp read what another has not written yet.
  // A pass in which no warp moves is a deadlock.
  static uint64_t launches = 0;
  std::mt19937_64 rng(++launches * 0x9e3779b97f4a7c15ull + grid * 7919u + block);
  std::vector<size_t> order(threads.size() / 32);
  for (size_t w = 0; w < order.size(); ++w) order[w] = w;
  std::shuffle(order.begin(), order.end(), rng);
  for (bool running = true; running;) {
    bool moved = false;
    running = false;
    for (const size_t w : order) {
      for (bool again = true; again;) {  // this warp, turn after turn, while it gets anywhere
        const uint64_t before = scheduler.progress;
        again = false;
        for (size_t i = w * 32; i < w * 32 + 32; ++i) {
          Thread& th = *threads[i];
          if (th.done) continue;
          scheduler.current = &th;
          swapcontext(&scheduler.main, &th.context);
          again = again || !th.done;
        }
        again = again && scheduler.progress != before;
        moved = moved || scheduler.progress != before;
      }
      for (size_t i = w * 32; i < w * 32 + 32; ++i) running = running || !threads[i]->done;
    }
    if (running && !moved) throw std::runtime_error("simt: every thread waits (deadlock)");
  }
  scheduler.current = nullptr;
  if (scheduler.error) std::rethrow_exception(scheduler.error);
}

}  // namespace simt

#define threadIdx (SIMT_SELF.thread_idx)
#define blockIdx (SIMT_SELF.block_idx)
#define blockDim (SIMT_SELF.block_dim)
#define gridDim (SIMT_SELF.grid_dim)

inline void __syncthreads() { SIMT_SELF.block->sync.arrive_and_wait(); }

// Every lane of the warp calls it (the device code shuffles with full masks only).
template <typename T>
T __shfl_xor_sync(unsigned, T value, int lane_mask) {
  static_assert(sizeof(T) <= sizeof(uint64_t));
  simt::Warp& w = *SIMT_SELF.warp;
  const unsigned lane = SIMT_SELF.thread_idx.x & 31;
  std::memcpy(&w.slot[lane], &value, sizeof(T));
  w.sync.arrive_and_wait();
  T out;
  std::memcpy(&out, &w.slot[lane ^ static_cast<unsigned>(lane_mask)], sizeof(T));
  w.sync.arrive_and_wait();  // every lane has read before the slots are written again
  return out;
}

inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline int __float2int_rn(float a) { return static_cast<int>(std::nearbyint(a)); }  // half to even

// The sum of the four signed byte products of a and b, plus c.
inline int __dp4a(int a, int b, int c) {
  for (int k = 0; k < 4; ++k)
    c += static_cast<int>(static_cast<int8_t>(a >> (8 * k))) * static_cast<int>(static_cast<int8_t>(b >> (8 * k)));
  return c;
}

template <typename T>
T __ldcs(const T* p) {
  return *p;
}
