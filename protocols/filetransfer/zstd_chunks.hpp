#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace twine::filetransfer {

/// twine-ft's --compress (PROTOCOL.md, "Compression"): a file's data goes
/// as CHUNK messages, each followed by the next piece of one zstd stream
/// that runs through the whole session, flushed at the end of each piece,
/// which holds at most maxChunk bytes: of one file, or of a batch of small
/// files (zstd-batch, TransferProtocol). One stream, not a frame
/// per chunk, because most files of a tree are small: a header of a few KiB
/// compresses well only against the files before it (as rsync -z's stream).
namespace zstd_chunks {

/// The most file bytes one frame may hold: FileSender's chunk.
inline constexpr std::size_t maxChunk = 256 * 1024;
/// The most bytes a piece of maxChunk may take (ZSTD_compressBound, and
/// room for the stream's header), so a CHUNK announcing more is refused
/// before its bytes are read.
std::size_t maxFrame();

/// False for names whose contents are compressed already (archives,
/// images, video, audio): compressing them again costs time and saves nothing.
bool worthTrying(std::string_view name);

/// The sending end of the session's stream.
class Compressor {
public:
    Compressor();
    ~Compressor();
    Compressor(const Compressor&) = delete;
    Compressor& operator=(const Compressor&) = delete;

    /// The stream's next piece: `chunk` (at most maxChunk bytes), flushed.
    std::string compress(std::string_view chunk);
    /// True if a sample of the data shrinks enough to be worth it (tried
    /// on a context of its own, so the stream is not disturbed).
    bool pays(std::string_view sample);
    /// "CHUNK length=L" then the piece, ready to write.
    std::string framed(std::string_view chunk);

private:
    struct Context;
    std::unique_ptr<Context> context_;
};

/// The receiving end of the session's stream. Its window is bounded (8
/// MiB), whatever a peer's stream asks for.
class Decompressor {
public:
    Decompressor();
    ~Decompressor();
    Decompressor(const Decompressor&) = delete;
    Decompressor& operator=(const Decompressor&) = delete;

    /// The bytes the piece `frame` holds: all of it must decode to at
    /// most `limit` (and maxChunk) bytes. Throws TransferError
    /// ("bad-message") for bytes that are not the stream's next piece, or
    /// that hold more than that.
    std::string decompress(std::string_view frame, std::uint64_t limit);

private:
    struct Context;
    std::unique_ptr<Context> context_;
};

}  // namespace zstd_chunks
}  // namespace twine::filetransfer
