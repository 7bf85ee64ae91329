#include <twine/core/clock.hpp>
#include <twine/core/connector.hpp>
#include <twine/core/error.hpp>
#include <twine/core/reconnecting_client_factory.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
using twine::Clock;
using twine::Connector;
using twine::ReconnectingClientFactory;
using twine::ReconnectPolicy;

namespace {

constexpr double e = 2.7182818284590451;

// A connector that records what the factory asks of it.
class FakeConnector final : public Connector {
public:
    void connect() override {
        ++connects;
        state_ = State::connecting;
    }
    void disconnect() override { state_ = State::disconnected; }
    void stopConnecting() override {
        if (state_ != State::connecting) throw std::logic_error("not connecting");
        ++stops;
        state_ = State::disconnected;
    }
    twine::Address getDestination() const override {
        return twine::Address::ipv4("127.0.0.1", 1234);
    }
    State state() const override { return state_; }

    void failed(ReconnectingClientFactory& factory) {
        state_ = State::disconnected;
        factory.clientConnectionFailed(*this, twine::ConnectionRefusedError());
    }

    int connects = 0;
    int stops = 0;

private:
    State state_ = State::disconnected;
};

class Nothing : public twine::Protocol {};

ReconnectPolicy withoutJitter() {
    ReconnectPolicy policy;
    policy.jitter = 0;
    return policy;
}

// A failed attempt is retried after the factory's delay, and no sooner.
double nextRetryDelay(Clock& clock, FakeConnector& connector, ReconnectingClientFactory& factory) {
    int before = connector.connects;
    connector.failed(factory);
    REQUIRE(factory.retryPending());
    double delay = factory.delay().count();
    clock.advance(twine::Duration(delay * 0.999));
    CHECK(connector.connects == before);
    clock.advance(twine::Duration(delay * 0.002));
    CHECK(connector.connects == before + 1);
    return delay;
}

}  // namespace

TEST_CASE("the defaults are Twisted's backoff") {
    Clock clock;
    ReconnectingClientFactory factory(clock);
    CHECK(factory.policy().initialDelay.count() == 1.0);
    CHECK(factory.policy().factor == e);
    CHECK(factory.policy().jitter == 0.11962656472);
    CHECK(factory.policy().maxDelay.count() == 3600.0);
    CHECK_FALSE(factory.policy().maxRetries.has_value());
    CHECK(factory.continueTrying());
}

TEST_CASE("without jitter, each delay is e times the last, up to maxDelay") {
    Clock clock;
    ReconnectingClientFactory factory(clock, {}, withoutJitter());
    FakeConnector connector;
    double expected = 1.0;
    for (int attempt = 1; attempt <= 12; ++attempt) {
        expected = std::min(expected * e, 3600.0);
        CHECK(nextRetryDelay(clock, connector, factory) == doctest::Approx(expected));
        CHECK(factory.retries() == static_cast<unsigned>(attempt));
    }
    CHECK(factory.delay().count() == 3600.0);
}

TEST_CASE("with jitter, delays vary around the backoff and repeat for one seed") {
    auto delays = [](std::uint64_t seed) {
        Clock clock;
        ReconnectingClientFactory factory(clock);
        factory.seed(seed);
        FakeConnector connector;
        std::vector<double> result;
        for (int attempt = 0; attempt < 5; ++attempt) {
            result.push_back(nextRetryDelay(clock, connector, factory));
        }
        return result;
    };
    std::vector<double> first = delays(42);
    CHECK(first == delays(42));
    CHECK(first != delays(43));
    // Each delay is the last one times e, give or take the jitter; 6 standard
    // deviations is far beyond what 5 draws of a fixed seed ever reach.
    double previous = 1.0;
    for (double delay : first) {
        double center = previous * e;
        CHECK(std::abs(delay - center) < 6 * 0.11962656472 * center);
        previous = delay;
    }
}

TEST_CASE("maxRetries gives up after that many retries") {
    Clock clock;
    ReconnectPolicy policy = withoutJitter();
    policy.maxRetries = 3;
    ReconnectingClientFactory factory(clock, {}, policy);
    FakeConnector connector;
    for (int attempt = 0; attempt < 3; ++attempt) nextRetryDelay(clock, connector, factory);
    connector.failed(factory);
    CHECK_FALSE(factory.retryPending());
    clock.advance(10000s);
    CHECK(connector.connects == 3);
}

TEST_CASE("stopTrying cancels a pending retry") {
    Clock clock;
    ReconnectingClientFactory factory(clock, {}, withoutJitter());
    FakeConnector connector;
    connector.failed(factory);
    REQUIRE(factory.retryPending());
    factory.stopTrying();
    CHECK_FALSE(factory.retryPending());
    CHECK(clock.getDelayedCalls().empty());
    clock.advance(10000s);
    CHECK(connector.connects == 0);
    connector.failed(factory);  // no retry once stopped
    CHECK_FALSE(factory.retryPending());
}

TEST_CASE("stopTrying stops an attempt in progress") {
    Clock clock;
    ReconnectingClientFactory factory(clock, {}, withoutJitter());
    FakeConnector connector;
    nextRetryDelay(clock, connector, factory);
    REQUIRE(connector.state() == Connector::State::connecting);
    factory.stopTrying();
    CHECK(connector.stops == 1);
    CHECK_FALSE(factory.continueTrying());
}

TEST_CASE("a successful connection resets the delay") {
    Clock clock;
    auto factory = ReconnectingClientFactory::forProtocol<Nothing>(clock);
    factory->policy().jitter = 0;
    FakeConnector connector;
    nextRetryDelay(clock, connector, *factory);
    nextRetryDelay(clock, connector, *factory);
    CHECK(factory->retries() == 2);

    auto protocol = factory->buildProtocol(twine::Address::ipv4("127.0.0.1", 1234));
    CHECK(protocol != nullptr);
    CHECK(factory->retries() == 0);
    CHECK(factory->delay().count() == 1.0);

    // The connection is lost later: the first retry again waits e seconds.
    factory->clientConnectionLost(connector, twine::ConnectionLost());
    CHECK(factory->delay().count() == doctest::Approx(e));
}

TEST_CASE("resetDelay starts the backoff over and resumes trying") {
    Clock clock;
    ReconnectingClientFactory factory(clock, {}, withoutJitter());
    FakeConnector connector;
    nextRetryDelay(clock, connector, factory);
    factory.stopTrying();
    factory.resetDelay();
    CHECK(factory.continueTrying());
    CHECK(nextRetryDelay(clock, connector, factory) == doctest::Approx(e));
}

TEST_CASE("retry with no connector seen is a clear error") {
    Clock clock;
    ReconnectingClientFactory factory(clock);
    CHECK_THROWS_AS(factory.retry(), std::logic_error);
}

TEST_CASE("destroying the factory cancels its pending retry") {
    Clock clock;
    FakeConnector connector;
    {
        ReconnectingClientFactory factory(clock, {}, withoutJitter());
        connector.failed(factory);
        REQUIRE(factory.retryPending());
    }
    clock.advance(10000s);
    CHECK(connector.connects == 0);
}
