#include <twine/protocols/filetransfer/local_tree.hpp>
#include <twine/protocols/filetransfer/safe_name.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace twine::filetransfer {
namespace {

using Opener = std::function<UniqueFd(const std::string& wireName, const fs::path& local)>;

FileInfo describe(const std::string& wireName, const struct stat& st) {
    FileInfo info;
    info.name = wireName;
    info.directory = S_ISDIR(st.st_mode);
    info.size = info.directory ? 0 : static_cast<std::uint64_t>(st.st_size);
    info.mode = st.st_mode & 0777;
    info.mtime = st.st_mtim.tv_sec;
    return info;
}

void addEntry(std::vector<OutgoingEntry>& out, const std::string& wireName, const fs::path& local,
              const struct stat& st, const Opener& opener) {
    OutgoingEntry entry{describe(wireName, st), {}};
    if (!entry.info.directory) {
        entry.open = [opener, wireName, local] { return opener(wireName, local); };
    }
    out.push_back(std::move(entry));
}

// Walks a directory without following symlinks; children sorted by name so
// a tree is always sent in the same order.
void walk(std::vector<OutgoingEntry>& out, const fs::path& dir, const std::string& wireDir,
          std::size_t depth, const Opener& opener,
          const std::function<void(const std::string&)>& note) {
    if (depth > SafeName::maxDepth) {
        note("skipping " + wireDir + ": tree too deep");
        return;
    }
    std::error_code error;
    std::vector<fs::path> children;
    for (const auto& child : fs::directory_iterator(dir, error)) children.push_back(child.path());
    if (error) note("cannot list " + wireDir + ": " + error.message());
    std::sort(children.begin(), children.end());
    for (const auto& child : children) {
        std::string wireName = wireDir + "/" + child.filename().string();
        struct stat st {};
        if (::lstat(child.c_str(), &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            note("skipping symlink " + wireName);
        } else if (S_ISDIR(st.st_mode)) {
            addEntry(out, wireName, child, st, opener);
            walk(out, child, wireName, depth + 1, opener, note);
        } else if (S_ISREG(st.st_mode)) {
            addEntry(out, wireName, child, st, opener);
        } else {
            note("skipping special file " + wireName);
        }
    }
}

std::vector<OutgoingEntry> list(const fs::path& top, const std::string& wireTop, bool follow,
                                const Opener& opener,
                                const std::function<void(const std::string&)>& note) {
    struct stat st {};
    int rc = follow ? ::stat(top.c_str(), &st) : ::lstat(top.c_str(), &st);
    if (rc != 0) throwSystemError(wireTop, errno);
    if (S_ISLNK(st.st_mode)) throw TransferError(code::notFound, "'" + wireTop + "' is a symlink");
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        throw TransferError(code::notFound, "'" + wireTop + "' is not a regular file");
    }
    std::vector<OutgoingEntry> out;
    addEntry(out, wireTop, top, st, opener);
    if (S_ISDIR(st.st_mode)) walk(out, top, wireTop, 1, opener, note);
    return out;
}

}  // namespace

std::vector<OutgoingEntry> listLocal(const std::string& path,
                                     const std::function<void(const std::string&)>& note) {
    fs::path local = fs::path(path).lexically_normal();
    if (local.filename().empty()) local = local.parent_path();
    std::string wireTop = local.filename().string();
    if (wireTop.empty() || wireTop == "." || wireTop == "..") {
        wireTop = fs::absolute(local).lexically_normal().filename().string();
    }
    Opener opener = [](const std::string& wireName, const fs::path& file) {
        UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) throwSystemError("open " + wireName, errno);
        return fd;
    };
    // The path the user named is followed if it is a link; links inside are not.
    return list(local, wireTop, true, opener, note);
}

std::vector<OutgoingEntry> listServed(const RootDir& root, const std::string& name,
                                      const std::function<void(const std::string&)>& note) {
    SafeName safe(name);
    // Refuses a symlink anywhere on the way before anything is listed.
    root.openExisting(safe);
    Opener opener = [&root](const std::string& wireName, const fs::path&) {
        return root.openExisting(SafeName(wireName));
    };
    return list(fs::path(root.path()) / safe.str(), safe.str(), false, opener, note);
}

}  // namespace twine::filetransfer
