// The server side of bench/pool_bench.sh: a server-bound protocol served by a
// ReactorPool, so that requests per second show how the pool scales.
//
//   pool_bench hash WORKERS REQUEST_SIZE   prints "listening on PORT"
//
// Each REQUEST_SIZE-byte request makes the server hash 256 KiB (SHA-256)
// before it sends the request back, so echo_loadgen's byte check still holds
// and the load generator itself stays nearly idle.
#include <twine/twine.hpp>

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

constexpr std::size_t workBytes = 256 * 1024;

class HashWork final : public twine::Protocol {
public:
    explicit HashWork(std::size_t requestSize) : requestSize_(requestSize) {}

    void dataReceived(std::string_view data) override {
        pending_.append(data);
        std::size_t done = 0;
        while (pending_.size() - done >= requestSize_) {
            work(std::string_view(pending_).substr(done, requestSize_));
            transport().write(std::string_view(pending_).substr(done, requestSize_));
            done += requestSize_;
        }
        pending_.erase(0, done);
    }

private:
    static void work(std::string_view request) {
        // One buffer per worker thread, seeded with the request: the hash
        // cannot be skipped or cached.
        thread_local std::string input(workBytes, 'w');
        input.replace(0, request.size(), request);
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned length = 0;
        EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
        thread_local volatile unsigned char sink = 0;
        sink = static_cast<unsigned char>(sink ^ digest[0]);
    }

    std::size_t requestSize_;
    std::string pending_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 || std::string(argv[1]) != "hash") {
        std::fprintf(stderr, "usage: pool_bench hash WORKERS REQUEST_SIZE\n");
        return 2;
    }
    const auto workers = static_cast<std::size_t>(std::atoi(argv[2]));
    const auto requestSize = static_cast<std::size_t>(std::atoi(argv[3]));
    if (requestSize == 0) {
        std::fprintf(stderr, "pool_bench: REQUEST_SIZE must be at least 1\n");
        return 2;
    }
    twine::ReactorPool pool(workers);
    bool failed = false;
    pool.listen("tcp:0:interface=127.0.0.1",
                [requestSize] { return twine::ServerFactory::forProtocol<HashWork>(requestSize); })
        .addCallbacks(
            [](const std::shared_ptr<twine::Port>& port) {
                std::printf("listening on %u\n", static_cast<unsigned>(port->getHost().port()));
                std::fflush(stdout);
            },
            [&](const twine::Failure& failure) {
                std::fprintf(stderr, "pool_bench: %s\n", failure.what().c_str());
                failed = true;
                pool.stop();
            });
    pool.run();
    return failed ? 1 : 0;
}
