#pragma once

#include <twine/core/factory.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/transports/tls_options.hpp>

#include <memory>

namespace twine {

/// Twisted's TLSMemoryBIOFactory, server side: every protocol `inner` builds,
/// behind a TLS server layer (the factory listenSSL serves with; useful to
/// serve TLS from a ReactorPool worker with options no endpoint string can
/// carry, such as TLSOptions::pskServer). `time` is the reactor whose
/// connections it serves (the handshake deadline runs on it). Building it
/// builds the TLS context, so a bad certificate throws TLSError here, as do
/// client options.
std::shared_ptr<Factory> tlsServerFactory(std::shared_ptr<Factory> inner, const TLSOptions& tls,
                                          ReactorTime& time);

}  // namespace twine
