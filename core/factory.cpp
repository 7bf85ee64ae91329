#include <twine/core/factory.hpp>

#include <stdexcept>

namespace twine {

std::unique_ptr<Protocol> Factory::buildProtocol(const Address& address) {
    (void)address;
    if (!builder_)
        throw std::logic_error("Factory has no protocol builder; override buildProtocol");
    auto protocol = builder_();
    if (protocol) protocol->setFactory(this);
    return protocol;
}

void Factory::doStart() {
    if (numPorts_++ == 0) startFactory();
}

void Factory::doStop() {
    if (numPorts_ == 0) return;  // unbalanced stop: nothing to undo
    if (--numPorts_ == 0) stopFactory();
}

}  // namespace twine
