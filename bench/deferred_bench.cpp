// Deferred fast paths, in ns per operation (best of several runs). Run pinned
// to one core for stable figures: taskset -c 1 ./deferred_bench

#include <twine/core/deferred.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace {

// Keeps the optimizer from deleting the work being measured.
volatile long sink = 0;

// CPU time of this thread: the figures stay meaningful on a shared machine.
double threadNanoseconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

template <class F>
double nsPerOp(long iterations, F&& body) {
    double best = 1e30;
    for (int run = 0; run < 5; ++run) {
        double start = threadNanoseconds();
        body(iterations);
        best = std::min(best, (threadNanoseconds() - start) / static_cast<double>(iterations));
    }
    return best;
}

void oneCallback(long n) {
    for (long i = 0; i < n; ++i) {
        twine::Deferred<long> d;
        d.addCallback([](long v) { sink = sink + v; });
        d.callback(i);
    }
}

void tenLinkChain(long n) {
    for (long i = 0; i < n; ++i) {
        twine::Deferred<long> d;
        for (int link = 0; link < 10; ++link) d.addCallback([](long v) { return v + 1; });
        d.addCallback([](long v) { sink = sink + v; });
        d.callback(i);
    }
}

void succeedOnly(long n) {
    for (long i = 0; i < n; ++i) {
        auto d = twine::succeed(i);
        sink = sink + d.called();
    }
}

twine::Deferred<long> awaitLoop(long n) {
    long sum = 0;
    for (long i = 0; i < n; ++i) sum += co_await twine::succeed(i);
    co_return sum;
}

twine::Deferred<long> plusOne(long v) {
    co_return co_await twine::succeed(v) + 1;
}

void coroutineCall(long n) {
    for (long i = 0; i < n; ++i) {
        plusOne(i).addCallback([](long v) { sink = sink + v; });
    }
}

void coAwaitFired(long n) {
    awaitLoop(n).addCallback([](long sum) { sink = sink + sum; });
}

}  // namespace

int main(int argc, char** argv) {
    long iterations = argc > 1 ? std::atol(argv[1]) : 2000000;
    if (iterations <= 0) {
        std::fprintf(stderr, "usage: deferred_bench [iterations > 0]\n");
        return 2;
    }
    std::printf("deferred_one_callback_ns %.1f\n", nsPerOp(iterations, oneCallback));
    std::printf("deferred_chain10_ns %.1f\n", nsPerOp(iterations / 4, tenLinkChain));
    std::printf("deferred_succeed_ns %.1f\n", nsPerOp(iterations, succeedOnly));
    std::printf("deferred_co_await_fired_ns %.1f\n", nsPerOp(iterations, coAwaitFired));
    std::printf("deferred_coroutine_call_ns %.1f\n", nsPerOp(iterations, coroutineCall));
    return 0;
}
