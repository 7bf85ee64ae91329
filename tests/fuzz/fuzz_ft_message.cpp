// twine-ft's message parser, fed one line as a peer would send it.
// Property: a line that decodes re-encodes to a line that decodes to the
// same message (parse(format(m)) == m), within the line limit.

#include <twine/protocols/filetransfer/message.hpp>

#include "fuzz_support.hpp"

#include <exception>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(bytes), size);
    twine::filetransfer::Message message;
    try {
        message = twine::filetransfer::Message::decode(line);
    } catch (const std::exception&) {
        return 0;  // refused: what a malformed line must get
    }
    const std::string encoded = message.encode();
    twine::filetransfer::Message again;
    try {
        again = twine::filetransfer::Message::decode(encoded);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "re-encoded line refused: %s\n", error.what());
        FUZZ_CHECK(false);
    }
    FUZZ_CHECK(again.verb() == message.verb());
    FUZZ_CHECK(again.encode() == encoded);
    return 0;
}
