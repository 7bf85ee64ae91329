#include <twine/core/protocol.hpp>

#include <stdexcept>

namespace twine {

void Protocol::makeConnection(Transport& transport) {
    transport_ = &transport;
    connectionMade();
}

Transport& Protocol::transport() const {
    if (transport_ == nullptr) throw std::logic_error("Protocol has no transport (not connected)");
    return *transport_;
}

}  // namespace twine
