#include <doctest/doctest.h>

#include <twine/core/clock.hpp>
#include <twine/core/error.hpp>
#include <twine/protocols/echo.hpp>
#include <twine/protocols/idle_timeout.hpp>
#include <twine/protocols/line_receiver.hpp>
#include <twine/transports/loopback_pump.hpp>
#include <twine/transports/string_transport.hpp>

#include <chrono>

using namespace std::chrono_literals;
using twine::Clock;
using twine::StringTransport;

namespace {

class Session : public twine::LineReceiver, public twine::IdleTimeout {
public:
    explicit Session(twine::ReactorTime& time) : IdleTimeout(time) {}
    void connectionMade() override { setTimeout(10s); }
    void dataReceived(std::string_view data) override {
        resetTimeout();
        LineReceiver::dataReceived(data);
    }
    void connectionLost(const twine::Failure&) override { cancelTimeouts(); }
};

class CountingSession : public Session {
public:
    using Session::Session;
    int timeouts = 0;
    void timeoutConnection() override {
        ++timeouts;
        Session::timeoutConnection();
    }
};

struct Connected {
    Clock clock;
    CountingSession session{clock};
    StringTransport transport;
    Connected() { session.makeConnection(transport); }
};

}  // namespace

TEST_CASE("an idle connection is closed when the timeout passes") {
    Connected c;
    c.clock.advance(9.9s);
    CHECK_FALSE(c.transport.disconnecting());
    c.clock.advance(0.1s);
    CHECK(c.transport.disconnecting());
    CHECK(c.session.timeouts == 1);
}

TEST_CASE("traffic restarts the idle timeout") {
    Connected c;
    c.clock.advance(9s);
    c.session.dataReceived("hello\r\n");
    c.clock.advance(9.9s);
    CHECK_FALSE(c.transport.disconnecting());
    c.clock.advance(0.1s);
    CHECK(c.transport.disconnecting());
    CHECK(c.session.timeouts == 1);
}

TEST_CASE("the idle timeout fires once, and later traffic does not restart it") {
    Connected c;
    c.clock.advance(10s);
    c.session.resetTimeout();
    c.clock.advance(100s);
    CHECK(c.session.timeouts == 1);
    CHECK(c.clock.getDelayedCalls().empty());
}

TEST_CASE("connection loss cancels the idle timeout") {
    Connected c;
    c.session.connectionLost(twine::ConnectionDone());
    CHECK(c.clock.getDelayedCalls().empty());
    c.clock.advance(60s);
    CHECK(c.session.timeouts == 0);
}

TEST_CASE("a protocol whose connection closed through a transport is never timed out") {
    Clock clock;
    CountingSession session(clock);
    twine::Echo peer;
    {
        twine::LoopbackPump pump(session, peer);
        pump.serverTransport().loseConnection();
        pump.pump();
    }
    clock.advance(60s);
    CHECK(session.timeouts == 0);
}

TEST_CASE("destroying a protocol cancels its timeouts") {
    Clock clock;
    {
        Session session(clock);
        StringTransport transport;
        session.makeConnection(transport);
        session.setFirstBytesDeadline(1s);
        CHECK(clock.getDelayedCalls().size() == 2);
    }
    CHECK(clock.getDelayedCalls().empty());
    clock.advance(60s);  // nothing runs against the destroyed protocol
}

TEST_CASE("setTimeout changes the period, returns the previous one, and nullopt stops it") {
    Connected c;
    CHECK(c.session.setTimeout(20s) == std::optional<twine::Duration>(10s));
    c.clock.advance(15s);
    CHECK_FALSE(c.transport.disconnecting());
    CHECK(c.session.setTimeout(std::nullopt) == std::optional<twine::Duration>(20s));
    c.clock.advance(100s);
    CHECK(c.session.timeouts == 0);
    CHECK_FALSE(c.session.timeout().has_value());
}

TEST_CASE("a connection that sends nothing is closed at the first-bytes deadline") {
    Connected c;
    c.session.setTimeout(60s);
    c.session.setFirstBytesDeadline(5s);
    c.clock.advance(5s);
    CHECK(c.transport.disconnecting());
    CHECK(c.session.timeouts == 1);
    c.clock.advance(60s);
    CHECK(c.session.timeouts == 1);  // the idle timer stopped with it
}

TEST_CASE("the first bytes meet the deadline, and the idle timeout goes on") {
    Connected c;
    c.session.setTimeout(60s);
    c.session.setFirstBytesDeadline(5s);
    c.clock.advance(4s);
    c.session.dataReceived("x");
    c.clock.advance(59s);
    CHECK_FALSE(c.transport.disconnecting());
    c.clock.advance(1s);
    CHECK(c.transport.disconnecting());
    CHECK(c.session.timeouts == 1);
}
