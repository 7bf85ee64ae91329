#include <doctest/doctest.h>

#include <twine/core/protocol.hpp>
#include <twine/transports/string_transport.hpp>

#include <stdexcept>
#include <string>

using twine::Address;
using twine::StringTransport;

namespace {

struct CountingProducer : twine::Producer {
    void pauseProducing() override {}
    void resumeProducing() override {}
    void stopProducing() override {}
};

}  // namespace

TEST_CASE("StringTransport records everything written, in order") {
    StringTransport transport;
    transport.write("a");
    transport.write(std::string("b"));
    transport.writeSequence({"c", "d"});
    CHECK(transport.value() == "abcd");
}

TEST_CASE("StringTransport takes a moved string without losing earlier writes") {
    StringTransport transport;
    std::string big(100000, 'x');
    transport.write(std::move(big));
    transport.write(std::string("y"));
    CHECK(transport.value().size() == 100001);
    CHECK(transport.value().back() == 'y');
}

TEST_CASE("StringTransport clear forgets what was written") {
    StringTransport transport;
    transport.write("old");
    transport.clear();
    transport.write("new");
    CHECK(transport.value() == "new");
}

TEST_CASE("StringTransport records loseConnection, abortConnection and half-close") {
    StringTransport lose;
    CHECK_FALSE(lose.disconnecting());
    lose.loseConnection();
    CHECK(lose.disconnecting());
    CHECK_FALSE(lose.aborted());

    StringTransport abort;
    abort.abortConnection();
    CHECK(abort.disconnecting());
    CHECK(abort.aborted());

    StringTransport half;
    half.loseWriteConnection();
    CHECK(half.writeClosed());
    CHECK_FALSE(half.disconnecting());
}

TEST_CASE("StringTransport peer and host addresses are settable") {
    StringTransport transport;
    CHECK(transport.getPeer().isIp());
    CHECK(transport.getHost().isIp());
    transport.setPeer(Address::ipv6("::1", 4000));
    transport.setHost(Address::unixPath("/tmp/x.sock"));
    CHECK(transport.getPeer() == Address::ipv6("::1", 4000));
    CHECK(transport.getHost() == Address::unixPath("/tmp/x.sock"));
}

TEST_CASE("StringTransport records the registered producer and refuses a second one") {
    StringTransport transport;
    CountingProducer first;
    CountingProducer second;
    transport.registerProducer(first, true);
    CHECK(transport.producer() == &first);
    CHECK(transport.streaming());
    CHECK_THROWS_AS(transport.registerProducer(second, false), std::logic_error);
    transport.unregisterProducer();
    CHECK(transport.producer() == nullptr);
    CHECK_THROWS_AS(transport.unregisterProducer(), std::logic_error);
    transport.registerProducer(second, false);
    CHECK(transport.producer() == &second);
    CHECK_FALSE(transport.streaming());
}

TEST_CASE("StringTransport records pause, resume and stop of reading") {
    StringTransport transport;
    using State = StringTransport::ProducerState;
    CHECK(transport.producerState() == State::producing);
    transport.pauseProducing();
    CHECK(transport.producerState() == State::paused);
    transport.resumeProducing();
    CHECK(transport.producerState() == State::producing);
    transport.stopProducing();
    CHECK(transport.producerState() == State::stopped);
    CHECK(transport.disconnecting());
}

TEST_CASE("a protocol connected to a StringTransport sees it as its transport") {
    twine::Protocol protocol;
    StringTransport transport;
    protocol.makeConnection(transport);
    CHECK(protocol.connected());
    CHECK(&protocol.transport() == &transport);
    protocol.transport().write("x");
    CHECK(transport.value() == "x");
}
