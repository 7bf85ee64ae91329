// Reactor::resolve, as Twisted's reactor.resolve: a name's IPv4 address.
#include <twine/twine.hpp>

#include <doctest/doctest.h>

#include "test_stream_support.hpp"

#include <optional>
#include <string>

using stream_test::run;
using stream_test::stop;
using twine::Failure;
using twine::Reactor;

namespace {

struct Outcome {
    std::optional<std::string> address;
    std::optional<Failure> failure;
};

// Resolves `name` on a running reactor and stops it with the outcome.
Outcome resolveWhileRunning(Reactor& reactor, const std::string& name) {
    Outcome outcome;
    reactor.callLater(std::chrono::seconds(0), [&] {
        reactor.resolve(name).addCallbacks(
            [&](const std::string& address) {
                outcome.address = address;
                stop(reactor);
            },
            [&](const Failure& failure) {
                outcome.failure = failure;
                stop(reactor);
            });
    });
    run(reactor);
    return outcome;
}

}  // namespace

TEST_CASE("resolve gives a host name's IPv4 address") {
    Reactor reactor;
    Outcome outcome = resolveWhileRunning(reactor, "localhost");
    REQUIRE(outcome.address.has_value());
    CHECK(*outcome.address == "127.0.0.1");
}

TEST_CASE("resolve gives an IP literal back at once") {
    Reactor reactor;
    std::string v4, v6;
    reactor.resolve("127.0.0.9").addCallback([&](const std::string& a) { v4 = a; });
    reactor.resolve("::1").addCallback([&](const std::string& a) { v6 = a; });
    CHECK(v4 == "127.0.0.9");
    CHECK(v6 == "::1");
}

TEST_CASE("resolve of a name that cannot exist fails with DNSLookupError naming it") {
    Reactor reactor;
    Outcome outcome = resolveWhileRunning(reactor, "no-such-host.invalid");
    REQUIRE(outcome.failure.has_value());
    CHECK(outcome.failure->check<twine::DNSLookupError>());
    CHECK(outcome.failure->what().find("no-such-host.invalid") != std::string::npos);
}

TEST_CASE("cancelling a resolve fails it with CancelledError and nothing fires later") {
    Reactor reactor;
    int fired = 0;
    std::optional<Failure> failure;
    auto lookup = reactor.resolve("localhost");
    lookup.addCallbacks([&](const std::string&) { ++fired; },
                        [&](const Failure& f) {
                            ++fired;
                            failure = f;
                        });
    lookup.cancel();
    REQUIRE(failure.has_value());
    CHECK(failure->check<twine::CancelledError>());
    // The thread pool's answer arrives and is dropped; the reactor then stops.
    reactor.callLater(std::chrono::milliseconds(100), [&] { stop(reactor); });
    run(reactor);
    CHECK(fired == 1);
}
