// chat_server: Twisted's classic line chat. Each client first sends its
// nickname, then every line it sends reaches everyone else as "<nick> line".
//
//     chat_server --listen tcp:1235 --listen unix:/tmp/chat.sock
//     chat_server --listen tcp:1235 --workers 4   (one chat across the workers)

#include "serve_endpoints.hpp"

#include <twine/protocols/chat.hpp>
#include <twine/protocols/chat_hub.hpp>

#include <memory>

int main(int argc, char** argv) {
    auto hub = twine::ChatHub::create();
    return examples::serveEndpoints(
        argc, argv,
        {.name = "chat_server",
         .summary = "Chat server: every line a client sends reaches "
                    "the others, after a first line naming it.",
         .defaultEndpoint = "tcp:1235",
         .workerFactory = [hub](twine::Reactor& reactor) -> std::shared_ptr<twine::Factory> {
             return hub->makeFactory(reactor);
         }},
        std::make_shared<twine::ChatFactory>());
}
