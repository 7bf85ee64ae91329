#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace twine::detail {

/// The largest copy handed to one memcpy by copyBytes.
///
/// glibc copies more than `glibc.cpu.x86_rep_movsb_threshold` bytes (2112 on
/// the AMD EPYC this was measured on) with `rep movsb`, which there runs
/// 15-20 times slower when the destination sits 1-31 bytes past the source
/// modulo 4 KiB: 0.6 s against 0.03 s per GiB. A file's bytes land at any
/// such offset (after a header line, say). Smaller copies take glibc's vector
/// loop, which is fast at every alignment.
inline constexpr std::size_t copyPiece = 2048;

/// A piece's size, hidden from the optimiser: knowing it is at most
/// copyPiece, GCC would inline the memcpy as `rep movsq`, the very
/// instruction the pieces are there to avoid.
inline std::size_t opaque(std::size_t size) {
    asm("" : "+r"(size));
    return size;
}

/// memcpy for bulk data: fast whatever the two addresses' alignment.
inline void copyBytes(char* to, const char* from, std::size_t size) {
    while (size > 0) {
        const std::size_t piece = opaque(size < copyPiece ? size : copyPiece);
        std::memcpy(to, from, piece);
        to += piece;
        from += piece;
        size -= piece;
    }
}

/// to.append(bytes), through copyBytes's pieces (std::string's own append
/// is one memcpy).
inline void appendBytes(std::string& to, std::string_view bytes) {
    while (!bytes.empty()) {
        const std::size_t piece = opaque(bytes.size() < copyPiece ? bytes.size() : copyPiece);
        to.append(bytes.data(), piece);
        bytes.remove_prefix(piece);
    }
}

}  // namespace twine::detail
