#pragma once

// The umbrella header: everything a twine user needs.
#include <twine/core/address.hpp>
#include <twine/core/connector.hpp>
#include <twine/core/consumer.hpp>
#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/log.hpp>
#include <twine/core/port.hpp>
#include <twine/core/producer.hpp>
#include <twine/core/protocol.hpp>
#include <twine/core/reactor.hpp>
#include <twine/core/reactor_time.hpp>
#include <twine/core/transport.hpp>
