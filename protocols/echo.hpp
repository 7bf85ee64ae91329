#pragma once

#include <twine/core/protocol.hpp>

#include <string_view>

namespace twine {

/// Writes back everything it receives, as twisted.protocols.wire.Echo.
class Echo : public Protocol {
public:
    void dataReceived(std::string_view data) override { transport().write(data); }
};

}  // namespace twine
