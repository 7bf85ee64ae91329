#include <doctest/doctest.h>

#include <twine/protocols/echo.hpp>
#include <twine/transports/string_transport.hpp>

#include <string>

using twine::Echo;
using twine::StringTransport;

TEST_CASE("echo writes back what it receives") {
    Echo echo;
    StringTransport transport;
    echo.makeConnection(transport);
    echo.dataReceived("hi");
    CHECK(transport.value() == "hi");
}

TEST_CASE("echo writes back every chunk in order, binary data included") {
    Echo echo;
    StringTransport transport;
    echo.makeConnection(transport);
    const std::string binary("\0\xff\r\n", 4);
    echo.dataReceived("one ");
    echo.dataReceived(binary);
    echo.dataReceived("two");
    CHECK(transport.value() == "one " + binary + "two");
}

TEST_CASE("echo writes nothing before data arrives and keeps the connection open") {
    Echo echo;
    StringTransport transport;
    echo.makeConnection(transport);
    CHECK(transport.value().empty());
    CHECK_FALSE(transport.disconnecting());
}
