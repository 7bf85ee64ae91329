#include <twine/transports/endpoints.hpp>

#include <twine/core/connector.hpp>
#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/core/protocol_wrapper.hpp>
#include <twine/core/reconnecting_client_factory.hpp>
#include <twine/transports/endpoint_parser.hpp>
#include <twine/transports/haproxy_endpoint.hpp>
#include <twine/transports/stream_port.hpp>
#include <twine/transports/tls_factory.hpp>
#include <twine/transports/tls_server_factory.hpp>
#include <twine/transports/udp_endpoint.hpp>

#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace twine {
namespace detail {
namespace {

// ---------------------------------------------------------------------------
// Connecting: Twisted's _WrappingFactory / _WrappingProtocol.

// What the canceller needs, shared with it: the Deferred's chain may outlive
// the attempt, and the attempt must not own the chain that owns the canceller.
struct AttemptState {
    bool done = false;
    Connector* connector = nullptr;  // while connecting or connected
};

// Twisted's canceller: fail first, so the result is CancelledError rather
// than the UserError stopConnecting reports.
void cancelAttempt(AttemptState& state, Deferred<Protocol*>& result) {
    if (std::exchange(state.done, true)) return;
    result.errback(CancelledError("connection attempt cancelled"));
    if (state.connector != nullptr && state.connector->state() == Connector::State::connecting) {
        state.connector->stopConnecting();
    }
}

// One connect() call's outcome: fires its Deferred once, with the protocol
// or with the reason it failed.
class ConnectAttempt {
public:
    ConnectAttempt()
        : state_(std::make_shared<AttemptState>()),
          result_(
              [state = state_](Deferred<Protocol*>& result) { cancelAttempt(*state, result); }) {}
    ConnectAttempt(const ConnectAttempt&) = delete;
    ConnectAttempt& operator=(const ConnectAttempt&) = delete;

    Deferred<Protocol*> result() const { return result_; }

    void succeed(Protocol* protocol) {
        if (std::exchange(state_->done, true)) return;
        result_.callback(protocol);
    }
    void fail(const Failure& reason) {
        if (std::exchange(state_->done, true)) return;
        result_.errback(reason);
    }
    void setConnector(Connector& connector) { state_->connector = &connector; }
    void connectionEnded() { state_->connector = nullptr; }

private:
    std::shared_ptr<AttemptState> state_;
    Deferred<Protocol*> result_;
};

// Fires the attempt once the wrapped protocol has seen connectionMade.
class ConnectedProtocol final : public ProtocolWrapper {
public:
    ConnectedProtocol(std::unique_ptr<Protocol> wrapped, std::shared_ptr<ConnectAttempt> attempt)
        : ProtocolWrapper(std::move(wrapped)), attempt_(std::move(attempt)) {}

    void connectionMade() override {
        ProtocolWrapper::connectionMade();
        attempt_->succeed(&wrapped());
    }

private:
    std::shared_ptr<ConnectAttempt> attempt_;
};

class WrappingClientFactory final : public ClientFactory {
public:
    explicit WrappingClientFactory(std::shared_ptr<Factory> wrapped)
        : wrapped_(std::move(wrapped)),
          client_(dynamic_cast<ClientFactory*>(wrapped_.get())),
          reconnecting_(dynamic_cast<ReconnectingClientFactory*>(wrapped_.get())),
          attempt_(std::make_shared<ConnectAttempt>()) {}

    Deferred<Protocol*> result() const { return attempt_->result(); }
    void fail(const Failure& reason) { attempt_->fail(reason); }

    // A ReconnectingClientFactory retries through the connector after it
    // failed or was lost, when the connector no longer holds itself: keep it
    // until the factory stops retrying (a cycle, broken then).
    void holdForRetries(std::shared_ptr<Connector> connector) {
        if (reconnecting_ == nullptr) return;
        if (!ended_ || reconnecting_->retryPending()) held_ = std::move(connector);
    }

    void startFactory() override { wrapped_->doStart(); }
    void stopFactory() override { wrapped_->doStop(); }

    std::unique_ptr<Protocol> buildProtocol(const Address& address) override {
        std::unique_ptr<Protocol> protocol;
        try {
            protocol = wrapped_->buildProtocol(address);
        } catch (...) {
            attempt_->fail(Failure());
            return nullptr;
        }
        if (!protocol) {
            attempt_->fail(ConnectError("the factory built no protocol for the connection"));
            return nullptr;
        }
        auto connected = std::make_unique<ConnectedProtocol>(std::move(protocol), attempt_);
        connected->setFactory(this);
        return connected;
    }

    void startedConnecting(Connector& connector) override {
        attempt_->setConnector(connector);
        if (client_ != nullptr) client_->startedConnecting(connector);
    }
    void clientConnectionFailed(Connector& connector, const Failure& reason) override {
        attempt_->connectionEnded();
        attempt_->fail(reason);
        if (client_ != nullptr) client_->clientConnectionFailed(connector, reason);
        releaseUnlessRetrying();
    }
    void clientConnectionLost(Connector& connector, const Failure& reason) override {
        attempt_->connectionEnded();
        if (client_ != nullptr) client_->clientConnectionLost(connector, reason);
        releaseUnlessRetrying();
    }

private:
    void releaseUnlessRetrying() {
        ended_ = true;
        if (reconnecting_ != nullptr && !reconnecting_->retryPending()) held_.reset();
    }

    std::shared_ptr<Factory> wrapped_;
    ClientFactory* client_;
    ReconnectingClientFactory* reconnecting_;
    std::shared_ptr<Connector> held_;
    bool ended_ = false;  // failed or lost at least once
    std::shared_ptr<ConnectAttempt> attempt_;
};

using StartConnecting = std::function<std::shared_ptr<Connector>(std::shared_ptr<ClientFactory>)>;

Deferred<Protocol*> connectThrough(std::shared_ptr<Factory> factory, const StartConnecting& start) {
    if (!factory) return fail<Protocol*>(std::invalid_argument("connect: no factory"));
    auto wrapping = std::make_shared<WrappingClientFactory>(std::move(factory));
    try {
        wrapping->holdForRetries(start(wrapping));
    } catch (...) {
        wrapping->fail(Failure());
    }
    return wrapping->result();
}

template <class F>
Deferred<std::shared_ptr<Port>> listenThrough(const std::shared_ptr<Factory>& factory, F listen) {
    try {
        if (!factory) throw std::invalid_argument("listen: no factory");
        return succeed(listen());
    } catch (...) {
        return fail<std::shared_ptr<Port>>(Failure());
    }
}

// ---------------------------------------------------------------------------
// Descriptions.

// The shortest fixed-point text that reads back as the same value
// (takeSeconds accepts no exponent).
std::string formatSeconds(Duration duration) {
    char text[64];
    auto [end, error] =
        std::to_chars(text, text + sizeof text, duration.count(), std::chars_format::fixed);
    return error == std::errc() ? std::string(text, end) : std::string("0");
}

// The parameters every description of a connection shares.
std::string describeConnectOptions(const ConnectOptions& options) {
    std::string text = ":timeout=" + formatSeconds(options.timeout);
    if (options.bindAddress) {
        text += ":bindAddress=" + escapeEndpointValue(options.bindAddress->host());
    }
    return text;
}

std::string describeTCPServer(std::uint16_t port, const std::string& interface, int backlog) {
    bool ipv6 = interface.find(':') != std::string::npos;
    std::string text = (ipv6 ? "tcp6:" : "tcp:") + std::to_string(port);
    if (!interface.empty() && interface != "::") {
        text += ":interface=" + escapeEndpointValue(interface);
    }
    if (backlog != 0) text += ":backlog=" + std::to_string(backlog);
    return text;
}

// ---------------------------------------------------------------------------
// Parsing: one small function per endpoint type.

constexpr long maxBacklog = 1 << 16;

ConnectOptions takeConnectOptions(EndpointParameters& parameters) {
    ConnectOptions options;
    if (auto timeout = parameters.takeSeconds("timeout")) {
        if (*timeout == 0) parameters.fail("timeout must be more than 0 seconds");
        options.timeout = Duration(*timeout);
    }
    if (auto bind = parameters.take("bindAddress")) {
        Address address = Address::fromIp(*bind, 0);
        if (address.family() == Address::Family::none) {
            parameters.fail("bindAddress '" + *bind + "' is not an IP address");
        }
        options.bindAddress = address;
    }
    return options;
}

std::unique_ptr<ServerEndpoint> parseTCPServer(Reactor& reactor, EndpointParameters& parameters,
                                               std::string defaultInterface) {
    parameters.bindPositional({"port"});
    auto port = parameters.takePort("port", true);
    if (!port) parameters.fail("missing port");
    TCPListenOptions options;
    options.interface = parameters.take("interface").value_or(std::move(defaultInterface));
    options.backlog =
        static_cast<int>(parameters.takeInteger("backlog", 1, maxBacklog).value_or(0));
    parameters.finish();
    return std::make_unique<TCPServerEndpoint>(reactor, *port, std::move(options));
}

std::unique_ptr<ServerEndpoint> parseUNIXServer(Reactor& reactor, EndpointParameters& parameters) {
    parameters.bindPositional({"address"});
    std::string path = parameters.require("address");
    if (path.empty()) parameters.fail("the socket path is empty");
    UNIXListenOptions options;
    options.mode = parameters.takeMode("mode").value_or(options.mode);
    options.backlog =
        static_cast<int>(parameters.takeInteger("backlog", 1, maxBacklog).value_or(0));
    parameters.finish();
    return std::make_unique<UNIXServerEndpoint>(reactor, std::move(path), options);
}

std::unique_ptr<ClientEndpoint> parseTCPClient(Reactor& reactor, EndpointParameters& parameters) {
    parameters.bindPositional({"host", "port"});
    std::string host = parameters.require("host");
    if (host.empty()) parameters.fail("the host is empty");
    auto port = parameters.takePort("port", false);
    if (!port) parameters.fail("missing port");
    ConnectOptions options = takeConnectOptions(parameters);
    parameters.finish();
    return std::make_unique<TCPClientEndpoint>(reactor, std::move(host), *port, options);
}

std::unique_ptr<ClientEndpoint> parseUNIXClient(Reactor& reactor, EndpointParameters& parameters) {
    parameters.bindPositional({"path"});
    std::string path = parameters.require("path");
    if (path.empty()) parameters.fail("the socket path is empty");
    ConnectOptions options = takeConnectOptions(parameters);
    parameters.finish();
    return std::make_unique<UNIXClientEndpoint>(reactor, std::move(path), options);
}

std::unique_ptr<ServerEndpoint> parseSSLServer(Reactor& reactor, EndpointParameters& parameters) {
    parameters.bindPositional({"port"});
    auto port = parameters.takePort("port", true);
    if (!port) parameters.fail("missing port");
    // As in Twisted: the certificate defaults to the key file (both in one PEM).
    std::string privateKey = parameters.require("privateKey");
    std::string certKey = parameters.take("certKey").value_or(privateKey);
    TLSOptions tls = TLSOptions::server(std::move(certKey), std::move(privateKey));
    if (auto ca = parameters.take("caCerts")) tls.requireClientCertificate(std::move(*ca));
    TCPListenOptions options;
    options.interface = parameters.take("interface").value_or("");
    options.backlog =
        static_cast<int>(parameters.takeInteger("backlog", 1, maxBacklog).value_or(0));
    parameters.finish();
    return std::make_unique<SSLServerEndpoint>(reactor, *port, std::move(tls), std::move(options));
}

std::unique_ptr<ClientEndpoint> parseTLSClient(Reactor& reactor, EndpointParameters& parameters) {
    parameters.bindPositional({"host", "port"});
    std::string host = parameters.require("host");
    if (host.empty()) parameters.fail("the host is empty");
    auto port = parameters.takePort("port", false);
    if (!port) parameters.fail("missing port");
    TLSOptions tls = TLSOptions::client(host);
    if (auto roots = parameters.take("trustRoots")) tls.trustRoots(std::move(*roots));
    auto certificate = parameters.take("certificate");
    auto privateKey = parameters.take("privateKey");
    if (certificate.has_value() != privateKey.has_value()) {
        parameters.fail("certificate and privateKey go together");
    }
    if (certificate) tls.clientCertificate(std::move(*certificate), std::move(*privateKey));
    ConnectOptions options = takeConnectOptions(parameters);
    parameters.finish();
    return std::make_unique<TLSClientEndpoint>(reactor, std::move(host), *port, std::move(tls),
                                               options);
}

// "haproxy:" takes the rest of the description, as it is, for the endpoint
// the balancer connects to.
std::unique_ptr<ServerEndpoint> parseHAProxyServer(Reactor& reactor,
                                                   EndpointParameters& parameters) {
    const std::string& text = parameters.text();
    const std::size_t colon = text.find(':');
    if (colon == std::string::npos || colon + 1 == text.size()) {
        parameters.fail("haproxy: needs the endpoint the balancer connects to after it");
    }
    const std::string_view rest = std::string_view(text).substr(colon + 1);
    if (rest.starts_with("haproxy:") || rest == "haproxy") {
        parameters.fail("haproxy: once is enough (a connection carries one PROXY header)");
    }
    std::unique_ptr<ServerEndpoint> inner = serverFromString(reactor, rest);
    if (dynamic_cast<HandoffEndpoint*>(inner.get()) == nullptr) {
        parameters.fail("haproxy: wraps stream endpoints (tcp:, tcp6:, unix:, ssl:)");
    }
    return std::make_unique<HAProxyServerEndpoint>(reactor, std::move(inner));
}

using ServerParser = std::function<std::unique_ptr<ServerEndpoint>(Reactor&, EndpointParameters&)>;
using ClientParser = std::function<std::unique_ptr<ClientEndpoint>(Reactor&, EndpointParameters&)>;

// The endpoint types; ssl:, udp: and tls: each add one line and one parser.
const std::map<std::string, ServerParser, std::less<>>& serverParsers() {
    static const std::map<std::string, ServerParser, std::less<>> parsers = {
        {"tcp", [](Reactor& r, EndpointParameters& p) { return parseTCPServer(r, p, ""); }},
        {"tcp6", [](Reactor& r, EndpointParameters& p) { return parseTCPServer(r, p, "::"); }},
        {"unix", parseUNIXServer},
        {"ssl", parseSSLServer},
        {"udp", [](Reactor& r, EndpointParameters& p) { return parseUDPServer(r, p, ""); }},
        {"udp6", [](Reactor& r, EndpointParameters& p) { return parseUDPServer(r, p, "::"); }},
        {"haproxy", parseHAProxyServer},
    };
    return parsers;
}

const std::map<std::string, ClientParser, std::less<>>& clientParsers() {
    static const std::map<std::string, ClientParser, std::less<>> parsers = {
        {"tcp", parseTCPClient},
        {"unix", parseUNIXClient},
        {"tls", parseTLSClient},
    };
    return parsers;
}

template <class Parsers>
const typename Parsers::mapped_type& parserFor(const Parsers& parsers,
                                               const EndpointParameters& parameters,
                                               std::string_view role) {
    auto where = parsers.find(parameters.type());
    if (where != parsers.end()) return where->second;
    std::string known;
    for (const auto& [name, parser] : parsers) known += (known.empty() ? "" : ", ") + name;
    parameters.fail("unknown " + std::string(role) + " endpoint type '" + parameters.type() +
                    "' (known: " + known + ")");
}

}  // namespace
}  // namespace detail

// ---------------------------------------------------------------------------

TCPServerEndpoint::TCPServerEndpoint(Reactor& reactor, std::uint16_t port, TCPListenOptions options)
    : reactor_(reactor), port_(port), options_(std::move(options)) {}

Deferred<std::shared_ptr<Port>> TCPServerEndpoint::listen(std::shared_ptr<Factory> factory) {
    return detail::listenThrough(factory,
                                 [&] { return reactor_.listenTCP(port_, factory, options_); });
}

std::string TCPServerEndpoint::describe() const {
    return detail::describeTCPServer(port_, options_.interface, options_.backlog);
}

std::shared_ptr<Port> TCPServerEndpoint::listenHandingOff(std::function<void(int fd)> accepted) {
    return detail::StreamPort::listenTCP(reactor_, port_, nullptr, options_, std::move(accepted));
}

std::shared_ptr<Factory> TCPServerEndpoint::servingFactory(std::shared_ptr<Factory> factory) {
    return factory;
}

void TCPServerEndpoint::adopt(const std::shared_ptr<Factory>& serving, int fd) {
    detail::StreamPort::adopt(reactor_, detail::StreamKind::tcp, serving, fd);
}

std::shared_ptr<Port> TCPServerEndpoint::listenServing(std::shared_ptr<Factory> serving) {
    return reactor_.listenTCP(port_, std::move(serving), options_);
}

UNIXServerEndpoint::UNIXServerEndpoint(Reactor& reactor, std::string path,
                                       UNIXListenOptions options)
    : reactor_(reactor), path_(std::move(path)), options_(options) {}

Deferred<std::shared_ptr<Port>> UNIXServerEndpoint::listen(std::shared_ptr<Factory> factory) {
    return detail::listenThrough(factory,
                                 [&] { return reactor_.listenUNIX(path_, factory, options_); });
}

std::string UNIXServerEndpoint::describe() const {
    std::ostringstream mode;
    mode << std::oct << options_.mode;
    std::string text = "unix:" + escapeEndpointValue(path_) + ":mode=" + mode.str();
    if (options_.backlog != 0) text += ":backlog=" + std::to_string(options_.backlog);
    return text;
}

std::shared_ptr<Port> UNIXServerEndpoint::listenHandingOff(std::function<void(int fd)> accepted) {
    return detail::StreamPort::listenUNIX(reactor_, path_, nullptr, options_, std::move(accepted));
}

std::shared_ptr<Factory> UNIXServerEndpoint::servingFactory(std::shared_ptr<Factory> factory) {
    return factory;
}

void UNIXServerEndpoint::adopt(const std::shared_ptr<Factory>& serving, int fd) {
    detail::StreamPort::adopt(reactor_, detail::StreamKind::unixSocket, serving, fd);
}

std::shared_ptr<Port> UNIXServerEndpoint::listenServing(std::shared_ptr<Factory> serving) {
    return reactor_.listenUNIX(path_, std::move(serving), options_);
}

TCPClientEndpoint::TCPClientEndpoint(Reactor& reactor, std::string host, std::uint16_t port,
                                     ConnectOptions options)
    : reactor_(reactor), host_(std::move(host)), port_(port), options_(std::move(options)) {}

Deferred<Protocol*> TCPClientEndpoint::connect(std::shared_ptr<Factory> factory) {
    return detail::connectThrough(std::move(factory), [&](std::shared_ptr<ClientFactory> client) {
        return reactor_.connectTCP(host_, port_, std::move(client), options_);
    });
}

std::string TCPClientEndpoint::describe() const {
    return "tcp:host=" + escapeEndpointValue(host_) + ":port=" + std::to_string(port_) +
           detail::describeConnectOptions(options_);
}

UNIXClientEndpoint::UNIXClientEndpoint(Reactor& reactor, std::string path, ConnectOptions options)
    : reactor_(reactor), path_(std::move(path)), options_(std::move(options)) {}

Deferred<Protocol*> UNIXClientEndpoint::connect(std::shared_ptr<Factory> factory) {
    return detail::connectThrough(std::move(factory), [&](std::shared_ptr<ClientFactory> client) {
        return reactor_.connectUNIX(path_, std::move(client), options_);
    });
}

std::string UNIXClientEndpoint::describe() const {
    return "unix:path=" + escapeEndpointValue(path_) + detail::describeConnectOptions(options_);
}

SSLServerEndpoint::SSLServerEndpoint(Reactor& reactor, std::uint16_t port, TLSOptions tls,
                                     TCPListenOptions options)
    : reactor_(reactor), port_(port), tls_(std::move(tls)), options_(std::move(options)) {}

Deferred<std::shared_ptr<Port>> SSLServerEndpoint::listen(std::shared_ptr<Factory> factory) {
    return detail::listenThrough(
        factory, [&] { return reactor_.listenSSL(port_, factory, tls_, options_); });
}

std::string SSLServerEndpoint::describe() const {
    std::string text = "ssl:" + std::to_string(port_) +
                       ":certKey=" + escapeEndpointValue(tls_.certificateFile()) +
                       ":privateKey=" + escapeEndpointValue(tls_.privateKeyFile());
    if (tls_.verifyPeer()) text += ":caCerts=" + escapeEndpointValue(tls_.caFile());
    if (!options_.interface.empty()) {
        text += ":interface=" + escapeEndpointValue(options_.interface);
    }
    if (options_.backlog != 0) text += ":backlog=" + std::to_string(options_.backlog);
    return text;
}

std::string SSLServerEndpoint::describeListening(const Address& bound) const {
    // The TCP description with the TLS scheme: "ssl:PORT:interface=HOST".
    const std::string tcp = describeAddress(bound);
    return "ssl" + tcp.substr(tcp.find(':'));
}

std::shared_ptr<Port> SSLServerEndpoint::listenHandingOff(std::function<void(int fd)> accepted) {
    // Check the options before any socket exists, as listen() does.
    if (!tls_.isServer()) throw TLSError("listenSSL needs server options (TLSOptions::server)");
    return detail::StreamPort::listenTCP(reactor_, port_, nullptr, options_, std::move(accepted));
}

// Each worker builds its own context: the TLS layer then runs on the worker
// that owns the connection, with nothing shared between threads.
std::shared_ptr<Factory> SSLServerEndpoint::servingFactory(std::shared_ptr<Factory> factory) {
    return tlsServerFactory(std::move(factory), tls_, reactor_);
}

void SSLServerEndpoint::adopt(const std::shared_ptr<Factory>& serving, int fd) {
    detail::StreamPort::adopt(reactor_, detail::StreamKind::tcp, serving, fd);
}

// `serving` already has the TLS layer (servingFactory put it there).
std::shared_ptr<Port> SSLServerEndpoint::listenServing(std::shared_ptr<Factory> serving) {
    return reactor_.listenTCP(port_, std::move(serving), options_);
}

TLSClientEndpoint::TLSClientEndpoint(Reactor& reactor, std::string host, std::uint16_t port,
                                     TLSOptions tls, ConnectOptions options)
    : reactor_(reactor),
      host_(std::move(host)),
      port_(port),
      tls_(std::move(tls)),
      options_(std::move(options)) {}

Deferred<Protocol*> TLSClientEndpoint::connect(std::shared_ptr<Factory> factory) {
    return detail::connectThrough(std::move(factory), [&](std::shared_ptr<ClientFactory> client) {
        return reactor_.connectSSL(host_, port_, std::move(client), tls_, options_);
    });
}

std::string TLSClientEndpoint::describe() const {
    std::string text = "tls:host=" + escapeEndpointValue(host_) + ":port=" + std::to_string(port_);
    if (!tls_.caFile().empty()) text += ":trustRoots=" + escapeEndpointValue(tls_.caFile());
    if (!tls_.certificateFile().empty()) {
        text += ":certificate=" + escapeEndpointValue(tls_.certificateFile()) +
                ":privateKey=" + escapeEndpointValue(tls_.privateKeyFile());
    }
    return text + detail::describeConnectOptions(options_);
}

namespace detail {
namespace {

// TLS over another server endpoint: the inner port's factory wraps each
// connection's protocol in a TLS layer. Over a stream endpoint it can also
// hand off (a ReactorPool, or a haproxy: layer outside it).
class TLSWrappedServerEndpoint final : public ServerEndpoint, public HandoffEndpoint {
public:
    TLSWrappedServerEndpoint(Reactor& reactor, std::unique_ptr<ServerEndpoint> inner,
                             TLSOptions tls)
        : reactor_(reactor),
          inner_(std::move(inner)),
          stream_(dynamic_cast<HandoffEndpoint*>(inner_.get())),
          tls_(std::move(tls)) {}

    Deferred<std::shared_ptr<Port>> listen(std::shared_ptr<Factory> factory) override {
        if (!factory) return inner_->listen(nullptr);
        std::shared_ptr<Factory> wrapper;
        try {
            wrapper = tlsServerFactory(std::move(factory), tls_, reactor_);
        } catch (...) {
            return twine::fail<std::shared_ptr<Port>>(Failure());
        }
        return inner_->listen(std::move(wrapper));
    }
    std::string describe() const override { return inner_->describe() + " (TLS)"; }
    std::string describeListening(const Address& bound) const override {
        return inner_->describeListening(bound);
    }

    std::shared_ptr<Port> listenHandingOff(std::function<void(int fd)> accepted) override {
        return stream().listenHandingOff(std::move(accepted));
    }
    std::shared_ptr<Factory> servingFactory(std::shared_ptr<Factory> factory) override {
        return stream().servingFactory(tlsServerFactory(std::move(factory), tls_, reactor_));
    }
    void adopt(const std::shared_ptr<Factory>& serving, int fd) override {
        stream().adopt(serving, fd);
    }
    std::shared_ptr<Port> listenServing(std::shared_ptr<Factory> serving) override {
        return stream().listenServing(std::move(serving));
    }

private:
    HandoffEndpoint& stream() const {
        if (stream_ == nullptr) {
            throw CannotListenError("Couldn't listen on " + describe() + ": not a stream endpoint");
        }
        return *stream_;
    }

    Reactor& reactor_;
    std::unique_ptr<ServerEndpoint> inner_;
    HandoffEndpoint* stream_;
    TLSOptions tls_;
};

class TLSWrappedClientEndpoint final : public ClientEndpoint {
public:
    using Start = std::function<std::shared_ptr<Connector>(std::shared_ptr<ClientFactory>)>;
    TLSWrappedClientEndpoint(Reactor& reactor, std::string description, TLSOptions tls, Start start)
        : reactor_(reactor),
          description_(std::move(description)),
          tls_(std::move(tls)),
          start_(std::move(start)) {}

    Deferred<Protocol*> connect(std::shared_ptr<Factory> factory) override {
        return connectThrough(std::move(factory), [this](std::shared_ptr<ClientFactory> client) {
            return start_(std::make_shared<TLSClientFactory>(std::move(client), tls_, reactor_));
        });
    }
    std::string describe() const override { return description_ + " (TLS)"; }

private:
    Reactor& reactor_;
    std::string description_;
    TLSOptions tls_;
    Start start_;
};

}  // namespace
}  // namespace detail

std::unique_ptr<ServerEndpoint> wrapServerTLS(Reactor& reactor,
                                              std::unique_ptr<ServerEndpoint> inner,
                                              TLSOptions tls) {
    if (!tls.isServer()) throw TLSError("wrapServerTLS needs server options");
    tls.context();  // a bad key or certificate fails now, not at the first connection
    if (auto* balanced = dynamic_cast<HAProxyServerEndpoint*>(inner.get())) {
        // The PROXY header precedes the TLS handshake on the wire.
        const HAProxyOptions options = balanced->options();
        return std::make_unique<HAProxyServerEndpoint>(
            reactor, wrapServerTLS(reactor, balanced->releaseInner(), std::move(tls)), options);
    }
    return std::make_unique<detail::TLSWrappedServerEndpoint>(reactor, std::move(inner),
                                                              std::move(tls));
}

std::unique_ptr<ClientEndpoint> wrapClientTLS(std::unique_ptr<ClientEndpoint> inner,
                                              TLSOptions tls) {
    if (tls.isServer()) throw TLSError("wrapClientTLS needs client options");
    tls.context();
    if (auto* tcp = dynamic_cast<TCPClientEndpoint*>(inner.get())) {
        Reactor& reactor = tcp->reactor_;
        return std::make_unique<detail::TLSWrappedClientEndpoint>(
            reactor, tcp->describe(), std::move(tls),
            [&reactor, host = tcp->host_, port = tcp->port_,
             options = tcp->options_](std::shared_ptr<ClientFactory> factory) {
                return reactor.connectTCP(host, port, std::move(factory), options);
            });
    }
    if (auto* local = dynamic_cast<UNIXClientEndpoint*>(inner.get())) {
        Reactor& reactor = local->reactor_;
        return std::make_unique<detail::TLSWrappedClientEndpoint>(
            reactor, local->describe(), std::move(tls),
            [&reactor, path = local->path_,
             options = local->options_](std::shared_ptr<ClientFactory> factory) {
                return reactor.connectUNIX(path, std::move(factory), options);
            });
    }
    throw std::invalid_argument("TLS can wrap only tcp: and unix: client endpoints, not " +
                                inner->describe());
}

std::unique_ptr<ServerEndpoint> serverFromString(Reactor& reactor, std::string_view description) {
    auto parameters = EndpointParameters::parse(description);
    return detail::parserFor(detail::serverParsers(), parameters, "server")(reactor, parameters);
}

std::unique_ptr<ClientEndpoint> clientFromString(Reactor& reactor, std::string_view description) {
    auto parameters = EndpointParameters::parse(description);
    return detail::parserFor(detail::clientParsers(), parameters, "client")(reactor, parameters);
}

std::string ServerEndpoint::describeListening(const Address& bound) const {
    return describeAddress(bound);
}

std::string describeAddress(const Address& address) {
    switch (address.family()) {
        case Address::Family::ipv4:
        case Address::Family::ipv6:
            return detail::describeTCPServer(address.port(), address.host(), 0);
        case Address::Family::unixSocket:
            return "unix:" + escapeEndpointValue(address.path());
        case Address::Family::none:
            break;
    }
    return "(unknown address)";
}

}  // namespace twine
