#pragma once

#include <twine/core/reactor.hpp>

#include <doctest/doctest.h>

#include <chrono>

namespace twine::testing {

/// Bounds a test's wait: if the reactor is still running after `limit`, the
/// test fails and the reactor stops.
inline void failAfter(twine::Reactor& reactor, twine::Duration limit = std::chrono::seconds(10)) {
    reactor.callLater(limit, [&reactor] {
        FAIL_CHECK("the reactor was still running after the test's time limit");
        if (reactor.running()) reactor.stop();
    });
}

}  // namespace twine::testing
