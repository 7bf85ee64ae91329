#pragma once

#include <twine/core/factory.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/transports/tls_options.hpp>

#include <memory>

namespace twine::detail {

/// The factory listenSSL serves with: every protocol `inner` builds, behind a
/// TLS server layer. `time` is the reactor whose connections it serves (the
/// handshake deadline runs on it). Building it builds the TLS context, so a
/// bad certificate throws here. Defined by the TLS part (tls_listen.cpp).
std::shared_ptr<Factory> tlsServerFactory(std::shared_ptr<Factory> inner, const TLSOptions& tls,
                                          ReactorTime& time);

}  // namespace twine::detail
