#include <doctest/doctest.h>

#include <twine/core/copy_bytes.hpp>

#include <string>

namespace {

std::string pattern(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 131 + i / 251);
    return bytes;
}

}  // namespace

TEST_CASE("copyBytes copies every byte, at any size and alignment") {
    const std::string source = pattern(3 * twine::detail::copyPiece + 4096);
    for (std::size_t size :
         {std::size_t{0}, std::size_t{1}, twine::detail::copyPiece - 1, twine::detail::copyPiece,
          twine::detail::copyPiece + 1, std::size_t{3 * twine::detail::copyPiece + 17}}) {
        for (std::size_t offset : {0, 1, 16, 31, 63}) {
            std::string target(size + 128, '#');
            twine::detail::copyBytes(target.data() + offset, source.data() + 7, size);
            INFO("size " << size << ", offset " << offset);
            CHECK(target.substr(offset, size) == source.substr(7, size));
            CHECK(target.substr(0, offset) == std::string(offset, '#'));
            CHECK(target.substr(offset + size) == std::string(128 - offset, '#'));
        }
    }
}

TEST_CASE("appendBytes appends as std::string::append does") {
    const std::string source = pattern(5 * twine::detail::copyPiece + 3);
    std::string appended = "head:";
    std::string expected = "head:";
    for (std::size_t size :
         {std::size_t{0}, std::size_t{5}, 2 * twine::detail::copyPiece + 1, source.size()}) {
        twine::detail::appendBytes(appended, std::string_view(source).substr(0, size));
        expected.append(source, 0, size);
    }
    CHECK(appended == expected);
}
