#include <twine/protocols/filetransfer/shared_parents.hpp>

#include <algorithm>

namespace twine::filetransfer {
namespace {

// "a/b/" for "a/b/c", "" for a leaf in the root.
std::string parentKey(const SafeName& name) {
    return name.str().substr(0, name.str().size() - name.leaf().size());
}

}  // namespace

SharedFd SharedParents::parentOf(const SafeName& name, bool create) {
    std::string key = parentKey(name);
    {
        std::lock_guard lock(mutex_);
        auto found = open_.find(key);
        if (found != open_.end()) {
            if (SharedFd held = found->second.lock()) return held;
        }
    }
    // Opened outside the lock: another thread may open it too; both work.
    auto opened = std::make_shared<const UniqueFd>(root_.openParent(name, create));
    std::lock_guard lock(mutex_);
    open_[std::move(key)] = opened;
    if (open_.size() >= pruneAt_) prune();
    return opened;
}

// Drops the entries nobody holds; amortised, as the map must double first.
void SharedParents::prune() {
    std::erase_if(open_, [](const auto& entry) { return entry.second.expired(); });
    pruneAt_ = std::max<std::size_t>(64, 2 * open_.size());
}

}  // namespace twine::filetransfer
