#pragma once

/// \file
/// The umbrella header, `<twine/twine.hpp>`: everything a twine user needs.

/// \namespace twine
/// Everything public: the reactor, Deferreds, protocols, factories,
/// transports and endpoints. Names and behaviour follow Twisted's.

/// \namespace twine::log
/// One-line log messages to stderr, shared by every part of twine.

/// \namespace twine::filetransfer
/// twine-ft's protocol: the wire format, the sender, the receiver and the
/// safety checks around the receiver's root (protocols/filetransfer/PROTOCOL.md).

#include <twine/core/address.hpp>
#include <twine/core/clock.hpp>
#include <twine/core/connector.hpp>
#include <twine/core/consumer.hpp>
#include <twine/core/datagram_protocol.hpp>
#include <twine/core/deferred.hpp>
#include <twine/core/deferred_list.hpp>
#include <twine/core/deferred_lock.hpp>
#include <twine/core/deferred_queue.hpp>
#include <twine/core/deferred_semaphore.hpp>
#include <twine/core/deferred_time.hpp>
#include <twine/core/delayed_call.hpp>
#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/log.hpp>
#include <twine/core/looping_call.hpp>
#include <twine/core/port.hpp>
#include <twine/core/producer.hpp>
#include <twine/core/protocol.hpp>
#include <twine/core/protocol_wrapper.hpp>
#include <twine/core/reactor.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/core/reconnecting_client_factory.hpp>
#include <twine/core/transport.hpp>
#include <twine/protocols/chat.hpp>
#include <twine/protocols/chat_hub.hpp>
#include <twine/protocols/connection_limits.hpp>
#include <twine/protocols/echo.hpp>
#include <twine/protocols/filetransfer/auth.hpp>
#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/safe_name.hpp>
#include <twine/protocols/filetransfer/file_digest.hpp>
#include <twine/protocols/filetransfer/transfer_client.hpp>
#include <twine/protocols/filetransfer/transfer_server.hpp>
#include <twine/protocols/idle_timeout.hpp>
#include <twine/protocols/int32_string_receiver.hpp>
#include <twine/protocols/line_receiver.hpp>
#include <twine/protocols/netstring_receiver.hpp>
#include <twine/transports/endpoints.hpp>
#include <twine/transports/haproxy_endpoint.hpp>
#include <twine/transports/haproxy_factory.hpp>
#include <twine/transports/loopback_pump.hpp>
#include <twine/transports/proxy_header.hpp>
#include <twine/transports/reactor_pool.hpp>
#include <twine/transports/string_transport.hpp>
#include <twine/transports/tls_options.hpp>
#include <twine/transports/tls_transport.hpp>
