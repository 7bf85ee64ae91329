#include <twine/core/reactor.hpp>
#include <twine/core/resource_list.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using twine::detail::Resource;
using twine::detail::ResourceList;

// A resource that records its shutdown in a shared log and then runs an
// optional action, as a transport's shutdown() may close other resources.
class Named : public Resource {
public:
    Named(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}
    void shutdown() override {
        log_.push_back(name_);
        if (onShutdown) onShutdown();
    }
    std::function<void()> onShutdown;

private:
    std::string name_;
    std::vector<std::string>& log_;
};

// a, b and c tracked in that order, with b on the heap so that a test can
// free it in the middle of a pass.
struct ThreeWithOwnedMiddle {
    std::vector<std::string> log;
    ResourceList list;
    Named a{"a", log};
    std::unique_ptr<Named> b = std::make_unique<Named>("b", log);
    Named c{"c", log};

    ThreeWithOwnedMiddle() {
        list.pushBack(a);
        list.pushBack(*b);
        list.pushBack(c);
    }
};

void shutdownAll(ResourceList& list) {
    list.forEach([](Resource& resource) { resource.shutdown(); });
}

}  // namespace

TEST_CASE("a pass visits resources in the order they were tracked") {
    std::vector<std::string> log;
    ResourceList list;
    Named a("a", log), b("b", log), c("c", log);
    list.pushBack(b);
    list.pushBack(a);
    list.pushBack(c);
    shutdownAll(list);
    CHECK(log == std::vector<std::string>{"b", "a", "c"});
    CHECK(list.size() == 3);
}

TEST_CASE("tracking twice keeps one entry and untracking twice is harmless") {
    std::vector<std::string> log;
    ResourceList list;
    Named a("a", log), b("b", log);
    CHECK(list.pushBack(a));
    CHECK(list.pushBack(b));
    CHECK_FALSE(list.pushBack(a));  // stays first, not moved to the back
    shutdownAll(list);
    CHECK(log == std::vector<std::string>{"a", "b"});
    CHECK(ResourceList::remove(a));
    CHECK_FALSE(ResourceList::remove(a));
    CHECK_FALSE(a.linked());
    CHECK(list.size() == 1);
}

TEST_CASE("a resource may untrack itself while the pass visits it") {
    std::vector<std::string> log;
    ResourceList list;
    Named a("a", log), b("b", log), c("c", log);
    for (Named* r : {&a, &b, &c}) list.pushBack(*r);
    b.onShutdown = [&] { ResourceList::remove(b); };
    shutdownAll(list);
    CHECK(log == std::vector<std::string>{"a", "b", "c"});
    CHECK(list.size() == 2);
}

TEST_CASE("a resource may untrack and free the next one during a pass") {
    ThreeWithOwnedMiddle t;
    t.a.onShutdown = [&] {
        ResourceList::remove(*t.b);
        t.b.reset();
    };
    shutdownAll(t.list);
    CHECK(t.log == std::vector<std::string>{"a", "c"});
    CHECK(t.list.size() == 2);
}

TEST_CASE("a resource freed while tracked leaves the list, even during a pass") {
    ThreeWithOwnedMiddle t;
    t.a.onShutdown = [&] { t.b.reset(); };  // no untrack: its destructor unlinks it
    shutdownAll(t.list);
    CHECK(t.log == std::vector<std::string>{"a", "c"});
    CHECK(t.list.size() == 2);
}

TEST_CASE("resources tracked during a pass wait for the next pass") {
    std::vector<std::string> log;
    ResourceList list;
    Named a("a", log), b("b", log), late("late", log);
    list.pushBack(a);
    list.pushBack(b);
    a.onShutdown = [&] { list.pushBack(late); };
    shutdownAll(list);
    CHECK(log == std::vector<std::string>{"a", "b"});
    log.clear();
    a.onShutdown = nullptr;
    shutdownAll(list);
    CHECK(log == std::vector<std::string>{"a", "b", "late"});
}

TEST_CASE("a pass from a marker visits only what was tracked after it, batch by batch") {
    std::vector<std::string> log;
    ResourceList list;
    ResourceList::Marker start;
    Named early("early", log), first("first", log), second("second", log), third("third", log);
    list.pushBack(early);
    list.markBack(start);
    list.pushBack(first);
    list.pushBack(second);
    first.onShutdown = [&] { list.pushBack(third); };
    list.forEachAfter(start, [](Resource& resource) { resource.shutdown(); });
    CHECK(log == std::vector<std::string>{"first", "second"});
    log.clear();
    list.forEachAfter(start, [](Resource& resource) { resource.shutdown(); });
    CHECK(log == std::vector<std::string>{"third"});
    CHECK(list.size() == 4);  // the marker is not counted
}

TEST_CASE("the list is empty when only markers remain") {
    std::vector<std::string> log;
    ResourceList list;
    ResourceList::Marker marker;
    CHECK(list.empty());
    list.markBack(marker);
    CHECK(list.empty());
    CHECK(list.size() == 0);
    Named a("a", log);
    list.pushBack(a);
    CHECK_FALSE(list.empty());
    a.onShutdown = [&] {
        ResourceList::remove(a);
        CHECK(list.empty());  // the pass's own markers do not count
    };
    shutdownAll(list);
    CHECK(log == std::vector<std::string>{"a"});
}

TEST_CASE("resources outliving their list are let go, not left dangling") {
    std::vector<std::string> log;
    Named a("a", log);
    {
        ResourceList list;
        list.pushBack(a);
        CHECK(a.linked());
    }
    CHECK_FALSE(a.linked());
}

TEST_CASE("tracking costs a resource two pointers and no allocation") {
    // A vtable pointer (the shutdown/abort interface) plus the two links.
    CHECK(sizeof(Resource) == 3 * sizeof(void*));
}

TEST_CASE("a reactor that never ran shuts its resources down in order, late ones too") {
    std::vector<std::string> log;
    Named a("a", log), b("b", log), late("late", log);
    {
        twine::Reactor reactor;
        // Each closes at once; "late" is tracked by a's shutdown, after the pass began.
        a.onShutdown = [&] {
            reactor.track(late);
            reactor.untrack(a);
        };
        b.onShutdown = [&] { reactor.untrack(b); };
        late.onShutdown = [&] { reactor.untrack(late); };
        reactor.track(a);
        reactor.track(b);
    }  // the destructor shuts down, drains, and returns once all have closed
    CHECK(log == std::vector<std::string>{"a", "b", "late"});
    CHECK_FALSE(late.linked());
}
