// twine-ft: fast, verified, resumable file transfer between hosts.
//
//   twine-ft serve DIR [--listen ENDPOINT]... [--token-file F] [--workers N]
//   twine-ft send PATH... --to ENDPOINT [--token-file F]
//   twine-ft fetch NAME... --from ENDPOINT [-o DIR] [--token-file F]

#include "progress_display.hpp"
#include "retrying_client.hpp"
#include "secure_channel.hpp"
#include "server_log.hpp"
#include "units.hpp"

#include <twine/core/factory.hpp>
#include <twine/core/log.hpp>
#include <twine/core/port.hpp>
#include <twine/core/reactor.hpp>
#include <twine/protocols/filetransfer/auth.hpp>
#include <twine/protocols/filetransfer/transfer_client.hpp>
#include <twine/protocols/filetransfer/transfer_server.hpp>
#include <twine/transports/endpoints.hpp>
#include <twine/transports/reactor_pool.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ft = twine::filetransfer;
using namespace twine_ft;

namespace {

struct Options {
    std::string dir;
    std::vector<std::string> listen{"tcp:9000"};
    std::string tokenFile;
    std::string saveToken;
    bool allowOverwrite = false;
    std::string maxSize;
    std::vector<std::string> paths;
    std::string endpoint;
    std::string outDir = ".";
    bool quiet = false;
    bool insecurePlaintext = false;
    unsigned retries = 5;
    bool checksum = false;
    bool dryRun = false;
    bool compress = false;
    std::optional<std::size_t> workers;
};

Channel channelOf(const Options& options) {
    if (options.insecurePlaintext) warnPlaintext();
    return options.insecurePlaintext ? Channel::plaintext : Channel::preSharedKey;
}

// The client's token: --token-file, else $TWINE_FT_TOKEN.
std::string clientToken(const Options& options) {
    if (!options.tokenFile.empty()) return ft::auth::readTokenFile(options.tokenFile);
    if (const char* token = std::getenv("TWINE_FT_TOKEN"); token != nullptr && *token != '\0') {
        return token;
    }
    throw std::runtime_error(
        "a token is needed: --token-file F or TWINE_FT_TOKEN (the server prints its token)");
}

void saveToken(const std::string& path, const std::string& token) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::string line = token + "\n";
    if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot write token file " + path);
    }
    ::close(fd);
}

std::string serverToken(const Options& options) {
    if (!options.tokenFile.empty()) return ft::auth::readTokenFile(options.tokenFile);
    // As notebook servers do: a fresh token, printed, kept off the disk
    // unless --save-token asks for it.
    std::string token = ft::auth::generateToken();
    std::printf("token: %s\n", token.c_str());
    if (!options.saveToken.empty()) saveToken(options.saveToken, token);
    return token;
}

void reportListening(const twine::ServerEndpoint& endpoint, const twine::Port& port) {
    std::printf("listening on %s\n", endpoint.describeListening(port.getHost()).c_str());
    std::fflush(stdout);
}

void reportCannotListen(const std::string& description, const twine::Failure& failure) {
    std::fprintf(stderr, "twine-ft: error: cannot listen on %s: %s\n", description.c_str(),
                 failure.what().c_str());
}

// What every connection of a server shares, whichever reactor serves it.
struct Serving {
    std::shared_ptr<ft::ReceiveRoot> root;
    std::string token;
    Channel channel;
    bool quiet;
};

int serveOnOneReactor(const Options& options, const Serving& serving) {
    twine::Reactor reactor;
    auto log = std::make_shared<ServerLog>(serving.quiet);
    auto factory =
        std::make_shared<ft::TransferServerFactory>(serving.root, serving.token, reactor, log);
    std::vector<std::unique_ptr<twine::ServerEndpoint>> endpoints;
    int status = 0;
    for (const std::string& description : options.listen) {
        endpoints.push_back(serverEndpoint(reactor, description, serving.token, serving.channel));
        const twine::ServerEndpoint& endpoint = *endpoints.back();
        endpoints.back()->listen(factory).addCallbacks(
            [&endpoint](const std::shared_ptr<twine::Port>& port) {
                reportListening(endpoint, *port);
            },
            [&](const twine::Failure& failure) {
                reportCannotListen(description, failure);
                status = 1;
                reactor.callLater(twine::Duration(0), [&reactor] { reactor.stop(); });
            });
    }
    std::fflush(stdout);
    reactor.run();
    return status;
}

// --workers: the pool accepts; each worker serves its connections with its
// own factory (and TLS layer), all sharing the root, so a name being
// received on one worker is "busy" to every other.
int serveOnPool(const Options& options, const Serving& serving) {
    twine::ReactorPool pool(*options.workers);
    std::vector<std::unique_ptr<twine::ServerEndpoint>> endpoints;
    int status = 0;
    for (const std::string& description : options.listen) {
        endpoints.push_back(twine::serverFromString(pool.mainReactor(), description));
        const twine::ServerEndpoint& endpoint = *endpoints.back();
        auto makeFactory = [&serving, description](twine::Reactor& reactor) {
            auto factory = std::make_shared<ft::TransferServerFactory>(
                serving.root, serving.token, reactor, std::make_shared<ServerLog>(serving.quiet),
                [&reactor](std::function<void()> fn) { reactor.callFromThread(std::move(fn)); });
            return servingFactory(reactor, description, std::move(factory), serving.token,
                                  serving.channel);
        };
        pool.listen(description, makeFactory)
            .addCallbacks(
                [&endpoint](const std::shared_ptr<twine::Port>& port) {
                    reportListening(endpoint, *port);
                },
                [&](const twine::Failure& failure) {
                    reportCannotListen(description, failure);
                    status = 1;
                    pool.stop();
                });
    }
    std::fflush(stdout);
    pool.run();
    return status;
}

int serve(const Options& options) {
    ft::ReceiveRoot::Options policy;
    policy.allowOverwrite = options.allowOverwrite;
    if (!options.maxSize.empty()) policy.maxSize = parseSize(options.maxSize);
    Serving serving{std::make_shared<ft::ReceiveRoot>(options.dir, policy), serverToken(options),
                    channelOf(options), options.quiet};
    return options.workers ? serveOnPool(options, serving) : serveOnOneReactor(options, serving);
}

// Runs one client job (push or fetch) to its end, retrying sessions that
// a fault cut short.
template <class Job>
int runClient(const Options& options, Job job) {
    std::string token = clientToken(options);
    const Channel channel = channelOf(options);
    twine::Reactor reactor;
    ProgressDisplay display(options.quiet, [&reactor] {
        reactor.callLater(twine::Duration(0), [&reactor] {
            if (reactor.running()) reactor.stop();
        });
    });
    auto factory = std::make_shared<RetryingClient>(
        reactor, options.endpoint,
        [&](ft::TransferObserver& observer) {
            return std::make_unique<ft::TransferClient>(job, token, reactor, observer);
        },
        display, retryPolicy(options.retries),
        [channel](const std::string& reason) { return explainConnectFailure(reason, channel); });
    auto endpoint = clientEndpoint(reactor, options.endpoint, token, channel);
    // The factory reports every outcome, the first failed attempt included.
    endpoint->connect(factory).addErrback([](const twine::Failure&) {});
    reactor.run();
    return display.summarise();
}

ft::Offering offeringOf(const Options& options) {
    ft::Offering offering;
    offering.checksum = options.checksum;
    offering.dryRun = options.dryRun;
    offering.compress = options.compress;
    return offering;
}

int send(const Options& options) {
    return runClient(options, ft::TransferClient::Push{options.paths, offeringOf(options)});
}

int fetch(const Options& options) {
    ft::ReceiveRoot::Options policy;
    policy.allowOverwrite = options.allowOverwrite;
    auto into = std::make_shared<ft::ReceiveRoot>(options.outDir, policy);
    return runClient(options, ft::TransferClient::Fetch{options.paths, into, offeringOf(options)});
}

void addCommon(CLI::App* command, Options& options) {
    command->add_option("--token-file", options.tokenFile, "file holding the shared token");
    command->add_flag("-q,--quiet", options.quiet, "print only errors");
    command->add_flag("--insecure-plaintext", options.insecurePlaintext,
                      "no TLS on tcp:/unix: (both ends must say so): anyone on the path can "
                      "read and change the files");
}

// What send and fetch share besides the common options.
void addClientOptions(CLI::App* command, Options& options) {
    command->add_flag("-c,--checksum", options.checksum,
                      "compare contents (XXH3-128), not size and mtime, to find files that are "
                      "up to date (reads every file on both ends)");
    command->add_flag("-n,--dry-run", options.dryRun,
                      "only print what would be transferred; nothing is written");
    command->add_flag("-z,--compress", options.compress,
                      "compress file data with zstd (for slow links; files that do not shrink, "
                      "such as archives and images, go as they are)");
}

void addRetries(CLI::App* command, Options& options) {
    command->add_option("--retries", options.retries,
                        "retries after a refused or lost connection or a busy file, with "
                        "backoff from 0.5 s (default 5; 0: none)");
}

// A transfer allocates and frees chunks of 128-256 KiB all the time. With
// glibc's defaults those come from fresh mmaps or from heap top that is
// trimmed and grown again, and every page of them faults in anew: measured
// here, 1 GiB over TLS took 2.7-3.5 s with the defaults and 2.3-2.5 s with
// these (the sender's CPU time fell by a third). Peak RSS stays within 20 MiB.
void keepFreedChunksForReuse() {
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace

int main(int argc, char** argv) {
    keepFreedChunksForReuse();
    Options options;
    CLI::App app{"twine-ft: fast, verified, resumable file transfer"};
    app.require_subcommand(1);

    CLI::App* serveCommand =
        app.add_subcommand("serve", "serve DIR: receive into it, serve from it");
    serveCommand->add_option("DIR", options.dir, "the root directory")->required();
    serveCommand->add_option("--listen", options.listen, "endpoint, e.g. tcp:9000 (repeatable)");
    serveCommand->add_option("--save-token", options.saveToken,
                             "write the generated token to this file (mode 0600)");
    serveCommand->add_flag("--allow-overwrite", options.allowOverwrite, "replace existing files");
    serveCommand->add_option("--max-size", options.maxSize, "largest file accepted (e.g. 10G)");
    serveCommand->add_option("-w,--workers", options.workers,
                             "serve from N worker threads, one reactor each (0: one per CPU); "
                             "without it, one reactor");
    addCommon(serveCommand, options);

    CLI::App* sendCommand = app.add_subcommand("send", "send files or directories to a server");
    sendCommand->add_option("PATH", options.paths, "files or directories")->required();
    sendCommand->add_option("--to", options.endpoint, "server endpoint, e.g. tcp:host=h:port=9000")
        ->required();
    addCommon(sendCommand, options);
    addClientOptions(sendCommand, options);
    addRetries(sendCommand, options);

    CLI::App* fetchCommand =
        app.add_subcommand("fetch", "fetch files or directories from a server");
    fetchCommand->add_option("NAME", options.paths, "names under the server's root")->required();
    fetchCommand->add_option("--from", options.endpoint, "server endpoint")->required();
    fetchCommand->add_option("-o,--output", options.outDir, "where to put them (default .)");
    fetchCommand->add_flag("--allow-overwrite", options.allowOverwrite, "replace existing files");
    addCommon(fetchCommand, options);
    addClientOptions(fetchCommand, options);
    addRetries(fetchCommand, options);

    CLI11_PARSE(app, argc, argv);
    // A peer that closes mid-transfer is an error to report, not a death.
    ::signal(SIGPIPE, SIG_IGN);
    if (options.quiet) twine::log::setLevel(twine::log::Level::warn);
    try {
        if (*serveCommand) return serve(options);
        if (*sendCommand) return send(options);
        return fetch(options);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "twine-ft: error: %s\n", error.what());
        return 2;
    }
}
