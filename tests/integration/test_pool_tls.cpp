#include <twine/core/error.hpp>
#include <twine/core/factory.hpp>
#include <twine/core/port.hpp>
#include <twine/protocols/echo.hpp>
#include <twine/transports/reactor_pool.hpp>

#include <doctest/doctest.h>

#include "test_pool_support.hpp"
#include "test_tls_support.hpp"
#include "time_limit.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using twine::testing::failAfter;

namespace {

class ThreadEcho final : public twine::Echo {
public:
    explicit ThreadEcho(std::atomic<int>& count) : count_(count) {}
    void connectionMade() override { ++count_; }

private:
    std::atomic<int>& count_;
};

// A blocking OpenSSL client: one echo round trip over TLS, verifying the
// server's certificate against the test CA. True if the echo came back.
bool tlsEcho(std::uint16_t port, const std::string& caFile, const std::string& message) {
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    if (context == nullptr) return false;
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    bool ok = SSL_CTX_load_verify_locations(context, caFile.c_str(), nullptr) == 1;
    int fd = ok ? pool_test::connectTCP(port, 20) : -1;
    SSL* ssl = fd >= 0 ? SSL_new(context) : nullptr;
    if (ssl != nullptr) {
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, "localhost");
        SSL_set1_host(ssl, "localhost");
        ok = SSL_connect(ssl) == 1 &&
             SSL_write(ssl, message.data(), static_cast<int>(message.size())) ==
                 static_cast<int>(message.size());
        std::string reply;
        char buffer[4096];
        while (ok && reply.size() < message.size()) {
            const int n = SSL_read(ssl, buffer, sizeof buffer);
            if (n <= 0) break;
            reply.append(buffer, static_cast<std::size_t>(n));
        }
        ok = ok && reply == message;
        SSL_shutdown(ssl);
        SSL_free(ssl);
    } else {
        ok = false;
    }
    if (fd >= 0) ::close(fd);
    SSL_CTX_free(context);
    ERR_clear_error();
    return ok;
}

}  // namespace

TEST_CASE("a pool serves an ssl: endpoint, each worker doing its own TLS") {
    const auto& certificates = tls_test::Certificates::get();
    const std::string endpoint =
        "ssl:0:interface=127.0.0.1:certKey=" + certificates.path("server.pem") +
        ":privateKey=" + certificates.path("server.key");
    constexpr int threads = 2;
    constexpr int perThread = 10;
    std::array<std::atomic<int>, 4> served{};
    std::atomic<int> replies{0};
    std::vector<std::thread> clients;
    {
        twine::ReactorPool pool(4);
        failAfter(pool.mainReactor(), 60s);
        pool.listen(endpoint,
                    [&](twine::Reactor& reactor) -> std::shared_ptr<twine::Factory> {
                        std::size_t i = 0;
                        while (&pool.reactor(i) != &reactor) ++i;
                        return twine::ServerFactory::forProtocol<ThreadEcho>(std::ref(served[i]));
                    })
            .addCallbacks(
                [&](const std::shared_ptr<twine::Port>& port) {
                    const std::uint16_t number = port->getHost().port();
                    auto left = std::make_shared<std::atomic<int>>(threads);
                    for (int t = 0; t < threads; ++t) {
                        clients.emplace_back([&, number, left] {
                            for (int i = 0; i < perThread; ++i) {
                                if (tlsEcho(number, certificates.path("ca.pem"), "secret")) {
                                    ++replies;
                                }
                            }
                            if (--*left == 0) pool.stop();
                        });
                    }
                },
                [&](const twine::Failure& failure) {
                    FAIL_CHECK(failure.what());
                    pool.stop();
                });
        pool.run();
        for (auto& client : clients) client.join();
    }
    CHECK(replies == threads * perThread);
    for (auto& count : served) CHECK(count == threads * perThread / 4);
}

TEST_CASE("an ssl: endpoint whose certificate does not load fails the pool's listen") {
    twine::ReactorPool pool(2);
    failAfter(pool.mainReactor(), 20s);
    std::optional<std::string> error;
    pool.listen("ssl:0:interface=127.0.0.1:certKey=/nonexistent.pem:privateKey=/nonexistent.key",
                [] { return twine::ServerFactory::forProtocol<twine::Echo>(); })
        .addCallbacks([&](const std::shared_ptr<twine::Port>&) { pool.stop(); },
                      [&](const twine::Failure& failure) {
                          CHECK(failure.check<twine::CannotListenError>());
                          error = failure.what();
                          pool.stop();
                      });
    pool.run();
    REQUIRE(error.has_value());
    CHECK(error->find("worker") != std::string::npos);
    CHECK(error->find("nonexistent") != std::string::npos);
}
