#include <twine/transports/tls_context.hpp>
#include <twine/transports/tls_options.hpp>

#include <utility>

namespace twine {

TLSOptions TLSOptions::client(std::string hostname) {
    TLSOptions options;
    options.hostname_ = std::move(hostname);
    return options;
}

TLSOptions TLSOptions::server(std::string certificateChainFile, std::string privateKeyFile) {
    TLSOptions options;
    options.server_ = true;
    // A server asks for a client certificate only when told to.
    options.verifyPeer_ = false;
    options.certificateFile_ = std::move(certificateChainFile);
    options.privateKeyFile_ = std::move(privateKeyFile);
    return options;
}

TLSOptions TLSOptions::pskServer(std::string identity, std::string key) {
    TLSOptions options;
    options.server_ = true;
    options.verifyPeer_ = false;
    options.preSharedKey(std::move(identity), std::move(key));
    return options;
}

TLSOptions TLSOptions::pskClient(std::string identity, std::string key) {
    TLSOptions options;
    options.preSharedKey(std::move(identity), std::move(key));
    return options;
}

TLSOptions& TLSOptions::preSharedKey(std::string identity, std::string key) {
    pskIdentity_ = std::move(identity);
    pskKey_ = std::move(key);
    minimum_ = TLSVersion::tls1_3;
    maximum_ = TLSVersion::tls1_3;
    // The key authenticates the server; a certificate check would need a
    // certificate the server does not have.
    if (!server_) verifyPeer_ = false;
    return changed();
}

TLSOptions& TLSOptions::changed() {
    context_.reset();
    return *this;
}

TLSOptions& TLSOptions::trustRoots(std::string caFile) {
    caFile_ = std::move(caFile);
    return changed();
}

TLSOptions& TLSOptions::clientCertificate(std::string certificateFile, std::string privateKeyFile) {
    certificateFile_ = std::move(certificateFile);
    privateKeyFile_ = std::move(privateKeyFile);
    return changed();
}

TLSOptions& TLSOptions::requireClientCertificate(std::string caFile) {
    caFile_ = std::move(caFile);
    verifyPeer_ = true;
    return changed();
}

TLSOptions& TLSOptions::insecureSkipVerify(bool skip) {
    verifyPeer_ = !skip;
    return changed();
}

TLSOptions& TLSOptions::alpn(std::vector<std::string> protocols) {
    alpn_ = std::move(protocols);
    return changed();
}

TLSOptions& TLSOptions::hostname(std::string name) {
    // Per connection, not part of the context.
    hostname_ = std::move(name);
    return *this;
}

TLSOptions& TLSOptions::minimumVersion(TLSVersion version) {
    minimum_ = version;
    return changed();
}

TLSOptions& TLSOptions::maximumVersion(TLSVersion version) {
    maximum_ = version;
    return changed();
}

TLSOptions& TLSOptions::sessionTickets(bool enabled) {
    tickets_ = enabled;
    return changed();
}

TLSOptions& TLSOptions::handshakeTimeout(Duration timeout) {
    handshakeTimeout_ = timeout;
    return *this;
}

std::shared_ptr<detail::TLSContext> TLSOptions::context() const {
    if (!context_) context_ = detail::TLSContext::create(*this);
    return context_;
}

}  // namespace twine
