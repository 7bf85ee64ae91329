#include <twine/core/reactor.hpp>
#include <twine/transports/endpoint_parser.hpp>
#include <twine/transports/endpoints.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using twine::EndpointParameters;

namespace {

// The message std::invalid_argument carries for a malformed description.
std::string parseError(const std::string& description, bool server = true) {
    twine::Reactor reactor;
    try {
        if (server) {
            twine::serverFromString(reactor, description);
        } else {
            twine::clientFromString(reactor, description);
        }
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    return "(no error)";
}

std::string server(const std::string& description) {
    twine::Reactor reactor;
    return twine::serverFromString(reactor, description)->describe();
}

std::string client(const std::string& description) {
    twine::Reactor reactor;
    return twine::clientFromString(reactor, description)->describe();
}

}  // namespace

TEST_CASE("a description splits into type, positional and keyword parameters") {
    auto parameters = EndpointParameters::parse("tcp:1234:interface=127.0.0.1:backlog=50");
    CHECK(parameters.type() == "tcp");
    parameters.bindPositional({"port"});
    CHECK(parameters.take("port") == "1234");
    CHECK(parameters.take("interface") == "127.0.0.1");
    CHECK(parameters.take("backlog") == "50");
    CHECK_NOTHROW(parameters.finish());
}

TEST_CASE("a backslash makes the next character literal") {
    auto parameters = EndpointParameters::parse(R"(unix:/tmp/a\:b.sock:mode=6\\6\=0)");
    parameters.bindPositional({"address"});
    CHECK(parameters.take("address") == "/tmp/a:b.sock");
    CHECK(parameters.take("mode") == R"(6\6=0)");
}

TEST_CASE("only the first '=' of a field separates key from value") {
    auto parameters = EndpointParameters::parse("unix:path=/tmp/a=b");
    CHECK(parameters.take("path") == "/tmp/a=b");
}

TEST_CASE("positional parameters fill the names not given as keywords") {
    auto both = EndpointParameters::parse("tcp:localhost:1234");
    both.bindPositional({"host", "port"});
    CHECK(both.take("host") == "localhost");
    CHECK(both.take("port") == "1234");

    auto portOnly = EndpointParameters::parse("tcp:1234:host=example.org");
    portOnly.bindPositional({"host", "port"});
    CHECK(portOnly.take("host") == "example.org");
    CHECK(portOnly.take("port") == "1234");
}

TEST_CASE("escapeEndpointValue output reads back as one value") {
    std::string value = R"(/tmp/we:ird=na\me)";
    auto parameters = EndpointParameters::parse("unix:" + twine::escapeEndpointValue(value));
    parameters.bindPositional({"address"});
    CHECK(parameters.take("address") == value);
    CHECK_NOTHROW(parameters.finish());
}

TEST_CASE("server descriptions for tcp, tcp6 and unix") {
    CHECK(server("tcp:1234") == "tcp:1234");
    CHECK(server("tcp:1234:interface=127.0.0.1:backlog=50") ==
          "tcp:1234:interface=127.0.0.1:backlog=50");
    CHECK(server("tcp:port=0:interface=127.0.0.1") == "tcp:0:interface=127.0.0.1");
    CHECK(server(R"(tcp6:1234:interface=\:\:1)") == R"(tcp6:1234:interface=\:\:1)");
    CHECK(server("tcp6:1234") == "tcp6:1234");
    CHECK(server("unix:/run/x.sock:mode=660:backlog=10") == "unix:/run/x.sock:mode=660:backlog=10");
    CHECK(server("unix:address=/run/x.sock") == "unix:/run/x.sock:mode=666");
    CHECK(server(R"(unix:/tmp/a\:b.sock)") == R"(unix:/tmp/a\:b.sock:mode=666)");
}

TEST_CASE("client descriptions for tcp and unix") {
    CHECK(client("tcp:host=example.org:port=80:timeout=10:bindAddress=127.0.0.2") ==
          "tcp:host=example.org:port=80:timeout=10:bindAddress=127.0.0.2");
    CHECK(client("tcp:localhost:1234") == "tcp:host=localhost:port=1234:timeout=30");
    CHECK(client("tcp:1234:host=localhost") == "tcp:host=localhost:port=1234:timeout=30");
    CHECK(client(R"(tcp:host=\:\:1:port=80:timeout=2.5)") ==
          R"(tcp:host=\:\:1:port=80:timeout=2.5)");
    CHECK(client("unix:path=/run/x.sock:timeout=5") == "unix:path=/run/x.sock:timeout=5");
    CHECK(client("unix:/run/x.sock") == "unix:path=/run/x.sock:timeout=30");
}

TEST_CASE("every description reads back as the same endpoint") {
    for (std::string description :
         {"tcp:0:interface=127.0.0.1:backlog=7", R"(tcp6:80:interface=\:\:1)",
          R"(unix:/tmp/a\:b\=c\\d.sock:mode=600)"}) {
        CHECK(server(server(description)) == server(description));
    }
    for (std::string description :
         {"tcp:host=h:port=1:timeout=0.5:bindAddress=127.0.0.9", R"(unix:path=/tmp/x\:y)"}) {
        CHECK(client(client(description)) == client(description));
    }
}

TEST_CASE("describeAddress names a bound address as a server description") {
    CHECK(twine::describeAddress(twine::Address::ipv4("127.0.0.1", 40123)) ==
          "tcp:40123:interface=127.0.0.1");
    CHECK(twine::describeAddress(twine::Address::ipv6("::1", 40123)) ==
          R"(tcp6:40123:interface=\:\:1)");
    CHECK(twine::describeAddress(twine::Address::unixPath("/tmp/x.sock")) == "unix:/tmp/x.sock");
}

TEST_CASE("an unknown endpoint type is named, with the known ones") {
    std::string message = parseError("bogus:1234");
    CHECK(message.find("invalid endpoint 'bogus:1234'") != std::string::npos);
    CHECK(message.find("unknown server endpoint type 'bogus'") != std::string::npos);
    CHECK(message.find("tcp") != std::string::npos);
    CHECK(parseError("tcp6:host=::1:port=1", false).find("unknown client endpoint type 'tcp6'") !=
          std::string::npos);
}

TEST_CASE("a missing port or path is named") {
    CHECK(parseError("tcp").find("missing port") != std::string::npos);
    CHECK(parseError("tcp:interface=127.0.0.1").find("missing port") != std::string::npos);
    CHECK(parseError("tcp:host=example.org", false).find("missing port") != std::string::npos);
    CHECK(parseError("tcp:port=80", false).find("missing host") != std::string::npos);
    CHECK(parseError("unix").find("missing address") != std::string::npos);
    CHECK(parseError("unix:timeout=5", false).find("missing path") != std::string::npos);
    CHECK(parseError("unix:", false).find("the socket path is empty") != std::string::npos);
}

TEST_CASE("a bad number is named") {
    CHECK(parseError("tcp:http").find("port 'http' is not a number") != std::string::npos);
    CHECK(parseError("tcp:").find("port '' is not a number") != std::string::npos);
    CHECK(parseError("tcp:12ab").find("is not a number") != std::string::npos);
    CHECK(parseError("tcp:-1").find("out of range") != std::string::npos);
    CHECK(parseError("tcp:65536").find("port 65536 is out of range (0-65535)") !=
          std::string::npos);
    CHECK(parseError("tcp:99999999999999999999999").find("out of range") != std::string::npos);
    CHECK(parseError("tcp:localhost:0", false).find("out of range (1-65535)") != std::string::npos);
    CHECK(parseError("tcp:80:backlog=many").find("backlog 'many' is not a number") !=
          std::string::npos);
    CHECK(parseError("tcp:80:backlog=0").find("out of range") != std::string::npos);
    CHECK(parseError("unix:/x:mode=999").find("not an octal file mode") != std::string::npos);
    CHECK(parseError("unix:/x:mode=").find("not an octal file mode") != std::string::npos);
    CHECK(parseError("tcp:h:1:timeout=soon", false).find("not a number of seconds") !=
          std::string::npos);
    // Found by tests/fuzz/fuzz_endpoint_parser: a timeout of 5.7e78 s was
    // accepted (and overflows libuv's milliseconds), then described as
    // "5.66667e+78", which does not read back.
    CHECK(parseError("tcp:h:1:timeout=" + std::string(80, '6'), false).find("more than") !=
          std::string::npos);
    CHECK(parseError("tcp:h:1:timeout=-1", false).find("not a number of seconds") !=
          std::string::npos);
    CHECK(parseError("tcp:h:1:timeout=inf", false).find("not a number of seconds") !=
          std::string::npos);
    CHECK(parseError("tcp:h:1:timeout=0", false).find("more than 0") != std::string::npos);
    CHECK(parseError("tcp:h:1:bindAddress=here", false).find("not an IP address") !=
          std::string::npos);
}

TEST_CASE("an unknown parameter is named") {
    CHECK(parseError("tcp:80:interfce=127.0.0.1").find("unknown parameter 'interfce'") !=
          std::string::npos);
    CHECK(parseError("unix:/x:lockfile=1").find("unknown parameter 'lockfile'") !=
          std::string::npos);
    CHECK(parseError("tcp:h:1:mode=600", false).find("unknown parameter 'mode'") !=
          std::string::npos);
}

TEST_CASE("extra positional parameters, repeats and broken syntax are refused") {
    CHECK(parseError("tcp:80:81").find("unexpected positional parameter '81'") !=
          std::string::npos);
    CHECK(parseError("tcp:80:port=81").find("unexpected positional parameter '80'") !=
          std::string::npos);
    CHECK(parseError("tcp:a:1:2", false).find("unexpected positional parameter '2'") !=
          std::string::npos);
    CHECK(parseError("tcp:80:backlog=1:backlog=2").find("'backlog' is given twice") !=
          std::string::npos);
    CHECK(parseError("").find("the description is empty") != std::string::npos);
    CHECK(parseError(":80").find("must start with the endpoint type") != std::string::npos);
    CHECK(parseError("port=80:tcp").find("must start with the endpoint type") != std::string::npos);
    CHECK(parseError("tcp:80:=1").find("no name before '='") != std::string::npos);
    CHECK(parseError(R"(unix:/tmp/x\)").find("lone backslash") != std::string::npos);
}
