#pragma once

#include <cstddef>

namespace twine::detail {

class Resource;
class ResourceList;

/// The two links a tracked resource carries: the reactor's registry lives in
/// the resources themselves, so tracking allocates nothing and costs 16 bytes
/// a resource (10,000 idle connections are a design target).
class ResourceLink {
public:
    ResourceLink() = default;
    ResourceLink(const ResourceLink&) = delete;
    ResourceLink& operator=(const ResourceLink&) = delete;
    /// A link destroyed while in a list leaves it (boost.intrusive's
    /// auto_unlink): a resource freed without untrack() leaves nothing
    /// dangling. It needs no pointer to the list, because the list keeps no
    /// count and its iterations hold their place with nodes of their own.
    virtual ~ResourceLink() { unlink(); }

    bool linked() const { return next_ != nullptr; }

private:
    friend class ResourceList;

    /// The resource this link belongs to; nullptr for a list's own markers.
    virtual Resource* resource() { return nullptr; }

    void unlink() {
        if (!linked()) return;
        prev_->next_ = next_;
        next_->prev_ = prev_;
        prev_ = next_ = nullptr;
    }
// Passes link markers that live on their stack frame into the list; GCC's
// -Wdangling-pointer does not see that the markers' destructors unlink them
// before the frame ends.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
    void insertBefore(ResourceLink& position) {
        prev_ = position.prev_;
        next_ = &position;
        prev_->next_ = this;
        position.prev_ = this;
    }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

    ResourceLink* prev_ = nullptr;
    ResourceLink* next_ = nullptr;
};

/// The reactor's live resources in the order they were tracked: a circular
/// doubly linked list through the resources' own links. Append and remove are
/// O(1) and allocate nothing. An iteration keeps its place with a marker node
/// in the list, so the visited resource may remove (and free) itself or any
/// other resource, the next one included.
class ResourceList {
public:
    /// A node that is not a resource: iterations walk past it. It marks a
    /// place that stays valid whatever is removed around it.
    class Marker final : public ResourceLink {};

    ResourceList() { head_.prev_ = head_.next_ = &head_; }
    /// Resources still tracked (their reactor is going away) are let go, so
    /// that their destructors do not touch this list.
    ~ResourceList() {
        while (head_.next_ != &head_) head_.next_->unlink();
    }
    ResourceList(const ResourceList&) = delete;
    ResourceList& operator=(const ResourceList&) = delete;

    /// Appends node; returns false (and does nothing) if it is in a list already.
    bool pushBack(ResourceLink& node) {
        if (node.linked()) return false;
        node.insertBefore(head_);
        return true;
    }
    /// Returns false (and does nothing) if node is in no list.
    static bool remove(ResourceLink& node) {
        if (!node.linked()) return false;
        node.unlink();
        return true;
    }

    /// Whether no resource is tracked. Skips markers, so it only ever looks
    /// at a handful of nodes.
    bool empty() const {
        for (ResourceLink* node = head_.next_; node != &head_; node = node->next_) {
            if (node->resource() != nullptr) return false;
        }
        return true;
    }
    /// Counts by walking the list: only log lines need it, and keeping a count
    /// would stop a resource from leaving the list on its own.
    std::size_t size() const {
        std::size_t count = 0;
        for (ResourceLink* node = head_.next_; node != &head_; node = node->next_) {
            if (node->resource() != nullptr) ++count;
        }
        return count;
    }

    /// Moves marker to the back: resources appended from now on come after it.
    void markBack(Marker& marker) {
        marker.unlink();
        marker.insertBefore(head_);
    }

    /// Calls visit(Resource&) on each resource, in order. Resources appended
    /// meanwhile are not visited, so the pass ends.
    template <class F>
    void forEach(F visit) {
        Marker cursor;
        Marker end;
        cursor.insertBefore(*head_.next_);
        end.insertBefore(head_);
        visitUntil(cursor, end, visit);
    }

    /// Calls visit(Resource&) on each resource appended after start, then
    /// moves start to the back, where it marks the next batch. Resources
    /// appended meanwhile are left for that batch.
    template <class F>
    void forEachAfter(Marker& start, F visit) {
        if (!start.linked()) return;
        Marker cursor;
        Marker end;
        cursor.insertBefore(*start.next_);
        end.insertBefore(head_);
        markBack(start);
        visitUntil(cursor, end, visit);
    }

private:
    template <class F>
    void visitUntil(Marker& cursor, const Marker& end, F& visit) {
        while (cursor.next_ != &end) {
            ResourceLink& node = *cursor.next_;
            // Step over node first: whatever visit removes, the cursor stays.
            cursor.unlink();
            cursor.insertBefore(*node.next_);
            if (Resource* resource = node.resource()) visit(*resource);
        }
    }

    Marker head_;
};

}  // namespace twine::detail
