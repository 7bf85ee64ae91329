#include <twine/transports/string_transport.hpp>

#include <stdexcept>
#include <utility>

namespace twine {

StringTransport::StringTransport(Address host, Address peer)
    : host_(std::move(host)), peer_(std::move(peer)) {}

void StringTransport::write(std::string&& data) {
    // Nothing recorded yet: adopt the caller's buffer rather than copy it.
    if (written_.empty()) {
        written_ = std::move(data);
    } else {
        written_.append(data);
    }
}

void StringTransport::abortConnection() {
    aborted_ = true;
    disconnecting_ = true;
}

void StringTransport::registerProducer(Producer& producer, bool streaming) {
    if (producer_ != nullptr) {
        throw std::logic_error("StringTransport: cannot register two producers at once");
    }
    producer_ = &producer;
    streaming_ = streaming;
}

void StringTransport::unregisterProducer() {
    if (producer_ == nullptr) {
        throw std::logic_error("StringTransport: no producer is registered");
    }
    producer_ = nullptr;
    streaming_ = false;
}

void StringTransport::stopProducing() {
    producerState_ = ProducerState::stopped;
    disconnecting_ = true;
}

}  // namespace twine
