#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace twine::filetransfer {

/// twine-ft's --compress (PROTOCOL.md, "Compression"): a file's data goes
/// as CHUNK messages, each followed by one zstd frame that holds at most
/// maxChunk bytes of the file and says how many.
namespace zstd_chunks {

/// The most file bytes one frame may hold: FileSender's chunk.
inline constexpr std::size_t maxChunk = 256 * 1024;
/// The most bytes a frame of maxChunk may take (ZSTD_compressBound), so a
/// CHUNK announcing more is refused before its bytes are read.
std::size_t maxFrame();

/// False for names whose contents are compressed already (archives,
/// images, video, audio): compressing them again costs time and saves nothing.
bool worthTrying(std::string_view name);

/// Compresses chunks with one reused zstd context (fast level: --compress is
/// for links slower than the CPU).
class Compressor {
public:
    Compressor();
    ~Compressor();
    Compressor(const Compressor&) = delete;
    Compressor& operator=(const Compressor&) = delete;

    /// One zstd frame holding `chunk` (at most maxChunk bytes).
    std::string compress(std::string_view chunk);
    /// True if a sample of the data shrinks enough to be worth it.
    bool pays(std::string_view sample);
    /// "CHUNK length=L" then the frame, ready to write.
    std::string framed(std::string_view chunk);

private:
    struct Context;
    std::unique_ptr<Context> context_;
};

/// Decompresses one frame of a peer's CHUNK. Throws TransferError
/// ("bad-message") if it is not a single zstd frame that declares its size,
/// declares more than `limit` bytes (or maxChunk), or does not decompress
/// to exactly what it declares.
class Decompressor {
public:
    Decompressor();
    ~Decompressor();
    Decompressor(const Decompressor&) = delete;
    Decompressor& operator=(const Decompressor&) = delete;

    /// The file bytes `frame` holds (see the class comment for the checks).
    std::string decompress(std::string_view frame, std::uint64_t limit);

private:
    struct Context;
    std::unique_ptr<Context> context_;
};

}  // namespace zstd_chunks
}  // namespace twine::filetransfer
