#pragma once

// Temporary directories and whole-file helpers shared by the tests.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace twine::testing {

/// A fresh directory under /tmp, removed with everything in it at scope exit.
struct TempDir {
    std::filesystem::path path;

    explicit TempDir(const std::string& prefix = "twine-test") {
        std::string pattern = "/tmp/" + prefix + "-XXXXXX";
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(TempDir&&) = delete;
    /// The path of `name` inside the directory.
    std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

/// Writes `data` to `path`, creating the parent directories.
inline void writeFile(const std::filesystem::path& path, std::string_view data) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << data;
}

}  // namespace twine::testing
