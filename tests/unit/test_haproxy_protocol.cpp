#include <twine/core/clock.hpp>
#include <twine/core/error.hpp>
#include <twine/core/log.hpp>
#include <twine/transports/haproxy_factory.hpp>
#include <twine/transports/proxy_header.hpp>
#include <twine/transports/string_transport.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using twine::Address;
using twine::StringTransport;

namespace {

// What the user's side saw: which clients it was asked for, and each event.
struct Seen {
    std::vector<Address> builtFor;
    std::vector<std::string> events;
    Address peer;
    Address host;
};

class Recorder : public twine::Protocol {
public:
    explicit Recorder(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
    void connectionMade() override {
        seen_->events.push_back("made");
        seen_->peer = transport().getPeer();
        seen_->host = transport().getHost();
    }
    void dataReceived(std::string_view data) override {
        seen_->events.push_back("data " + std::string(data));
        transport().write("echo " + std::string(data));
    }
    void connectionLost(const twine::Failure& reason) override {
        seen_->events.push_back("lost " + reason.typeName());
    }

private:
    std::shared_ptr<Seen> seen_;
};

class RecordingFactory : public twine::ServerFactory {
public:
    explicit RecordingFactory(std::shared_ptr<Seen> seen, bool refuse = false)
        : seen_(std::move(seen)), refuse_(refuse) {}
    std::unique_ptr<twine::Protocol> buildProtocol(const Address& address) override {
        seen_->builtFor.push_back(address);
        if (refuse_) return nullptr;
        return std::make_unique<Recorder>(seen_);
    }

private:
    std::shared_ptr<Seen> seen_;
    bool refuse_;
};

struct LogCapture {
    std::vector<std::string> lines;
    LogCapture() {
        twine::log::setObserver(
            [this](const twine::log::Event& event) { lines.emplace_back(event.message); });
    }
    ~LogCapture() { twine::log::setObserver({}); }
    bool mentions(const std::string& text) const {
        for (const auto& line : lines) {
            if (line.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

// A balancer's connection to the server, on a StringTransport.
struct BalancedConnection {
    twine::Clock clock;
    std::shared_ptr<Seen> seen = std::make_shared<Seen>();
    StringTransport transport{Address::ipv4("10.0.0.2", 8080), Address::ipv4("10.0.0.1", 40001)};
    std::unique_ptr<twine::Protocol> protocol;

    explicit BalancedConnection(twine::HAProxyOptions options = {}, bool refuse = false) {
        twine::HAProxyWrappingFactory factory(std::make_shared<RecordingFactory>(seen, refuse),
                                              clock, options);
        protocol = factory.buildProtocol(transport.getPeer());
        protocol->makeConnection(transport);
    }
    void receive(std::string_view data) { protocol->dataReceived(data); }
    void lose() {
        protocol->connectionLost(twine::ConnectionDone());
        protocol->setTransport(nullptr);
    }
};

const std::string v1Header = "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n";
const Address client = Address::ipv4("192.0.2.10", 56324);
const Address destination = Address::ipv4("198.51.100.1", 443);

}  // namespace

TEST_CASE("Behind a balancer the protocol is built for the client and sees its addresses") {
    BalancedConnection connection;
    CHECK(connection.seen->builtFor.empty());  // nothing before the header
    connection.receive(v1Header + "hello");
    CHECK(connection.seen->builtFor == std::vector<Address>{client});
    CHECK(connection.seen->peer == client);
    CHECK(connection.seen->host == destination);
    // The payload that came in the same read, and nothing of the header.
    CHECK(connection.seen->events == std::vector<std::string>{"made", "data hello"});
    connection.receive("again");
    CHECK(connection.transport.value() == "echo helloecho again");
    connection.lose();
    CHECK(connection.seen->events.back() == "lost twine::ConnectionDone");
}

TEST_CASE("A header split across many reads builds the protocol once it is whole") {
    twine::ProxyHeader header;
    header.source = Address::ipv6("2001:db8::10", 40000);
    header.destination = Address::ipv6("2001:db8::1", 8443);
    const std::string bytes = twine::formatProxyHeaderV2(header);
    BalancedConnection connection;
    for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
        connection.receive(bytes.substr(i, 1));
        CHECK(connection.seen->events.empty());
    }
    connection.receive(bytes.substr(bytes.size() - 1) + "pay");
    connection.receive("load");
    CHECK(connection.seen->peer == header.source);
    CHECK(connection.seen->host == header.destination);
    CHECK(connection.seen->events == std::vector<std::string>{"made", "data pay", "data load"});
    CHECK_FALSE(connection.transport.disconnecting());
}

TEST_CASE("A header split with payload in its last read delivers that payload") {
    BalancedConnection connection;
    connection.receive(v1Header.substr(0, 20));
    connection.receive(v1Header.substr(20) + "first");
    CHECK(connection.seen->events == std::vector<std::string>{"made", "data first"});
    CHECK(connection.seen->peer == client);
}

TEST_CASE("A health check (LOCAL, UNKNOWN) keeps the socket's own addresses") {
    twine::ProxyHeader local;
    local.local = true;
    for (const std::string& header :
         {twine::formatProxyHeaderV2(local), std::string("PROXY UNKNOWN\r\n")}) {
        BalancedConnection connection;
        connection.receive(header);
        CHECK(connection.seen->builtFor == std::vector<Address>{connection.transport.getPeer()});
        CHECK(connection.seen->peer == connection.transport.getPeer());
        CHECK(connection.seen->host == connection.transport.getHost());
    }
}

TEST_CASE("A connection without a header is closed with a log line; no protocol is built") {
    LogCapture log;
    BalancedConnection connection;
    connection.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(connection.transport.disconnecting());
    CHECK(connection.seen->builtFor.empty());
    CHECK(connection.transport.value().empty());
    CHECK(log.mentions("haproxy: closing the connection from 10.0.0.1:40001"));
    CHECK(log.mentions("not a PROXY protocol header"));
    connection.lose();  // and its end reaches nobody
    CHECK(connection.seen->events.empty());
}

TEST_CASE("Malformed and oversized headers close the connection before any protocol exists") {
    twine::HAProxyOptions options;
    options.maxV2Length = 64;
    twine::ProxyHeader unixHeader;
    unixHeader.source = Address::unixPath("/a");
    unixHeader.destination = Address::unixPath("/b");  // a 216-byte block: over 64
    const std::string inputs[] = {
        "PROXY TCP4 192.0.2.10 198.51.100.1 99999 443\r\n",
        "PROXY TCP4 " + std::string(200, '1'),
        twine::formatProxyHeaderV2(unixHeader),
    };
    for (const std::string& input : inputs) {
        LogCapture log;
        BalancedConnection connection(options);
        connection.receive(input);
        CHECK(connection.transport.disconnecting());
        CHECK(connection.seen->builtFor.empty());
        CHECK(log.mentions("haproxy: closing"));
    }
}

TEST_CASE("A header not complete within the deadline closes the connection") {
    LogCapture log;
    twine::HAProxyOptions options;
    options.headerTimeout = 3s;
    BalancedConnection connection(options);
    connection.receive("PROXY TCP4 192.0.2.10");
    connection.clock.advance(2.9s);
    CHECK_FALSE(connection.transport.disconnecting());
    connection.clock.advance(0.2s);
    CHECK(connection.transport.disconnecting());
    CHECK(connection.seen->builtFor.empty());
    CHECK(log.mentions("no complete PROXY header within 3 s"));
}

TEST_CASE("Once the header is in, the deadline no longer applies") {
    BalancedConnection connection;
    connection.receive(v1Header);
    connection.clock.advance(10s);
    CHECK_FALSE(connection.transport.disconnecting());
    CHECK(connection.seen->events == std::vector<std::string>{"made"});
}

TEST_CASE("A factory that refuses the client closes the connection") {
    BalancedConnection connection({}, /*refuse=*/true);
    connection.receive(v1Header + "data");
    CHECK(connection.seen->builtFor == std::vector<Address>{client});
    CHECK(connection.transport.disconnecting());
    CHECK(connection.seen->events.empty());
}

TEST_CASE("The connection ending before the header is whole builds nothing") {
    BalancedConnection connection;
    connection.receive("PROXY ");
    connection.lose();
    CHECK(connection.seen->builtFor.empty());
    connection.clock.advance(5s);  // no deadline left to fire on a dead connection
    CHECK(connection.seen->events.empty());
}
