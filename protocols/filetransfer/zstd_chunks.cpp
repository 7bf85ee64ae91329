#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>
#include <twine/protocols/filetransfer/zstd_chunks.hpp>

#include <zstd.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace twine::filetransfer::zstd_chunks {
namespace {

// Level 1: several hundred MB/s a core, most of zstd's gain on text.
constexpr int level = 1;

[[noreturn]] void refuse(const std::string& why) {
    throw TransferError(code::badMessage, "bad compressed chunk: " + why);
}

}  // namespace

std::size_t maxFrame() {
    return ZSTD_compressBound(maxChunk);
}

bool worthTrying(std::string_view name) {
    static constexpr std::array<std::string_view, 24> compressed = {
        ".gz",   ".tgz", ".bz2", ".xz",  ".txz",  ".zst",  ".lz4", ".lz",
        ".zip",  ".7z",  ".rar", ".jpg", ".jpeg", ".png",  ".gif", ".webp",
        ".heic", ".mp3", ".mp4", ".mkv", ".mov",  ".webm", ".ogg", ".deb"};
    std::string lower(name.substr(name.size() > 8 ? name.size() - 8 : 0));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::none_of(compressed.begin(), compressed.end(), [&lower](std::string_view suffix) {
        return lower.size() >= suffix.size() &&
               lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0;
    });
}

struct Compressor::Context {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ~Context() { ZSTD_freeCCtx(cctx); }
};

Compressor::Compressor() : context_(std::make_unique<Context>()) {
    if (context_->cctx == nullptr) throw std::bad_alloc();
}

Compressor::~Compressor() = default;

std::string Compressor::compress(std::string_view chunk) {
    std::string frame(ZSTD_compressBound(chunk.size()), '\0');
    std::size_t size = ZSTD_compressCCtx(context_->cctx, frame.data(), frame.size(), chunk.data(),
                                         chunk.size(), level);
    if (ZSTD_isError(size)) {
        throw TransferError(code::io, std::string("zstd: ") + ZSTD_getErrorName(size));
    }
    frame.resize(size);
    return frame;
}

bool Compressor::pays(std::string_view sample) {
    // Under a tenth saved is not worth the CPU on either end.
    return sample.empty() || compress(sample).size() * 10 < sample.size() * 9;
}

std::string Compressor::framed(std::string_view chunk) {
    std::string frame = compress(chunk);
    std::string out = Message("CHUNK").set("length", frame.size()).encode();
    out += '\n';
    out += frame;
    return out;
}

struct Decompressor::Context {
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    ~Context() { ZSTD_freeDCtx(dctx); }
};

Decompressor::Decompressor() : context_(std::make_unique<Context>()) {
    if (context_->dctx == nullptr) throw std::bad_alloc();
}

Decompressor::~Decompressor() = default;

std::string Decompressor::decompress(std::string_view frame, std::uint64_t limit) {
    if (ZSTD_findFrameCompressedSize(frame.data(), frame.size()) != frame.size()) {
        refuse("not exactly one zstd frame");
    }
    unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) {
        refuse("the frame does not declare its size");
    }
    if (size > maxChunk || size > limit) refuse("the frame holds more than announced");
    std::string plain(static_cast<std::size_t>(size), '\0');
    std::size_t got =
        ZSTD_decompressDCtx(context_->dctx, plain.data(), plain.size(), frame.data(), frame.size());
    if (ZSTD_isError(got) || got != plain.size()) refuse("the frame does not decompress");
    return plain;
}

}  // namespace twine::filetransfer::zstd_chunks
