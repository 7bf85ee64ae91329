// The code README.md shows, compiled and run, so the README stays true.
#include <twine/twine.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

using namespace std::chrono_literals;

namespace {

// README: "Quick start".
class Echo : public twine::Protocol {
public:
    void dataReceived(std::string_view data) override { transport().write(data); }
};

// README: "Later results are Deferreds".
int expensiveCount() {
    return 42;
}

twine::Deferred<std::string> fetchGreeting(twine::Reactor& reactor) {
    int n = co_await reactor.deferToThread([] { return expensiveCount(); });
    co_await twine::deferLater(reactor, std::chrono::milliseconds(50), [] {});
    co_return "counted " + std::to_string(n);
}

// Sends "hi" and keeps what comes back in *received.
class Greeter : public twine::Protocol {
public:
    explicit Greeter(std::string* received) : received_(received) {}
    void connectionMade() override { transport().write("hi"); }
    void dataReceived(std::string_view data) override {
        *received_ += data;
        if (*received_ == "hi") transport().loseConnection();
    }

private:
    std::string* received_;
};

}  // namespace

TEST_CASE("the README's quick start unit test passes") {
    twine::Echo protocol;
    twine::StringTransport transport;
    protocol.makeConnection(transport);
    protocol.dataReceived("hi");
    CHECK(transport.value() == "hi");
}

TEST_CASE("the README's echo server answers over an endpoint") {
    twine::Reactor reactor;
    auto factory = twine::ServerFactory::forProtocol<Echo>();
    auto endpoint = twine::serverFromString(reactor, "tcp:0:interface=127.0.0.1");
    std::shared_ptr<twine::Port> port;
    endpoint->listen(factory).addCallback([&](std::shared_ptr<twine::Port> p) { port = p; });
    REQUIRE(port);

    std::string echoed;
    auto client = twine::clientFromString(
        reactor, "tcp:host=127.0.0.1:port=" + std::to_string(port->getHost().port()));
    client->connect(twine::ClientFactory::forProtocol<Greeter>(&echoed));

    std::string greeting;
    fetchGreeting(reactor).addCallback([&](std::string text) { greeting = std::move(text); });
    auto done = twine::LoopingCall(reactor, [&] {
        if (!greeting.empty() && echoed == "hi") reactor.stop();
    });
    done.start(10ms);
    auto guard = reactor.callLater(10s, [&] { reactor.stop(); });  // bound: never hang
    reactor.run();
    CHECK(greeting == "counted 42");
    CHECK(echoed == "hi");
}

TEST_CASE("the README's ReactorPool echo server answers, then drains on stop") {
    twine::ReactorPool pool(0);
    std::string echoed;
    std::unique_ptr<twine::ClientEndpoint> client;
    pool.listen("tcp:0:interface=127.0.0.1",
                [] { return twine::ServerFactory::forProtocol<Echo>(); })
        .addCallback([&](std::shared_ptr<twine::Port> port) {
            client = twine::clientFromString(
                pool.mainReactor(),
                "tcp:host=127.0.0.1:port=" + std::to_string(port->getHost().port()));
            client->connect(twine::ClientFactory::forProtocol<Greeter>(&echoed));
        });
    auto done = twine::LoopingCall(pool.mainReactor(), [&] {
        if (echoed == "hi") pool.stop();
    });
    done.start(10ms);
    auto guard = pool.mainReactor().callLater(10s, [&] { pool.stop(); });  // never hang
    pool.run();
    CHECK(echoed == "hi");
}

namespace {

// A client playing the balancer: a PROXY header, then "hi".
class BalancedGreeter : public twine::Protocol {
public:
    explicit BalancedGreeter(std::string* received) : received_(received) {}
    void connectionMade() override {
        transport().write("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\nhi");
    }
    void dataReceived(std::string_view data) override {
        *received_ += data;
        if (received_->size() >= 16) transport().loseConnection();  // "hello 192.0.2.10"
    }

private:
    std::string* received_;
};

// Says who it thinks the client is.
class Hello : public twine::Protocol {
public:
    void dataReceived(std::string_view) override {
        transport().write("hello " + transport().getPeer().host());
    }
};

}  // namespace

TEST_CASE("the README's load-balancer snippets see the client the header names") {
    twine::Reactor reactor;
    auto factory = twine::ServerFactory::forProtocol<Hello>();
    // README: "Running behind a load balancer".
    std::shared_ptr<twine::Port> viaPrefix;
    twine::serverFromString(reactor, "haproxy:tcp:0:interface=127.0.0.1")
        ->listen(factory)
        .addCallback([&](std::shared_ptr<twine::Port> p) { viaPrefix = p; });
    auto viaFactory = reactor.listenTCP(
        0, std::make_shared<twine::HAProxyWrappingFactory>(factory, reactor), {"127.0.0.1"});
    REQUIRE(viaPrefix);

    std::string first;
    std::string second;
    std::vector<std::unique_ptr<twine::ClientEndpoint>> clients;
    for (auto [port, received] :
         {std::pair{viaPrefix.get(), &first}, {viaFactory.get(), &second}}) {
        clients.push_back(twine::clientFromString(
            reactor, "tcp:host=127.0.0.1:port=" + std::to_string(port->getHost().port())));
        clients.back()->connect(twine::ClientFactory::forProtocol<BalancedGreeter>(received));
    }
    auto done = twine::LoopingCall(reactor, [&] {
        if (first.size() >= 16 && second.size() >= 16) reactor.stop();
    });
    done.start(10ms);
    auto guard = reactor.callLater(10s, [&] { reactor.stop(); });  // bound: never hang
    reactor.run();
    CHECK(first == "hello 192.0.2.10");
    CHECK(second == "hello 192.0.2.10");
}
