#include <twine/core/deferred.hpp>
#include <twine/core/deferred_state.hpp>
#include <twine/core/error.hpp>
#include <twine/core/log.hpp>

#include <cstdio>

namespace twine::detail {

std::string timeoutMessage(Duration timeout) {
    char text[64];
    std::snprintf(text, sizeof text, "Deferred timed out after %g seconds", timeout.count());
    return text;
}

void ResultSlot::throwMismatch() {
    throw std::logic_error(
        "Deferred: the result does not have the type this handle expects (a callback changed "
        "the chain's type: use the handle addCallback returned)");
}

/// Added to a Deferred that a callback returned: hands its result back to the
/// chain that waits for it (Twisted's _CONTINUE). The run loop treats it
/// specially, so that chains of any depth run without recursion.
class ContinueLink final : public Link {
public:
    explicit ContinueLink(State& waiting) noexcept {
        waiting.retain();
        continues_ = &waiting;
    }
    ~ContinueLink() override {
        // Destroyed unrun: the Deferred being waited on is going away, so the
        // waiting one must forget it (it holds only a plain pointer).
        if (State* waiting = std::exchange(continues_, nullptr)) {
            waiting->chainedTo_ = nullptr;
            waiting->release();
        }
    }
    StateRef run(ResultSlot&) noexcept override { return {}; }
};

namespace {

struct FreeBlock {
    FreeBlock* next;
};

constexpr std::size_t granule = 64;
constexpr std::size_t sizeClasses = 4;  // blocks of 64, 128, 192 and 256 bytes
constexpr std::uint32_t maxCached = 4096;

// Trivially destructible, so that a block freed during static destruction
// (after the thread's pool has been drained) is still handled.
struct FreeLists {
    FreeBlock* head[sizeClasses];
    std::uint32_t count[sizeClasses];
    bool drainRegistered;
    bool closed;
};
thread_local FreeLists freeLists{};

// Returns the cached blocks to the heap when the thread ends.
struct Drainer {
    Drainer() = default;
    Drainer(const Drainer&) = delete;
    Drainer& operator=(const Drainer&) = delete;
    ~Drainer() {
        freeLists.closed = true;
        for (std::size_t c = 0; c < sizeClasses; ++c) {
            while (FreeBlock* block = freeLists.head[c]) {
                freeLists.head[c] = block->next;
                ::operator delete(block);
            }
            freeLists.count[c] = 0;
        }
    }
};

void registerDrainer() {
    thread_local Drainer drainer;
    freeLists.drainRegistered = true;
}

std::size_t sizeClassOf(std::size_t size) {
    return (size + granule - 1) / granule - 1;
}

}  // namespace

// Under AddressSanitizer the pool stands aside, so that a use after free is
// still caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool pooling = false;
#else
constexpr bool pooling = true;
#endif

void* BlockPool::allocate(std::size_t size) {
    if (!pooling) return ::operator new(size);
    std::size_t c = sizeClassOf(size);
    if (c >= sizeClasses) return ::operator new(size);
    if (FreeBlock* block = freeLists.head[c]) {
        freeLists.head[c] = block->next;
        --freeLists.count[c];
        return block;
    }
    return ::operator new((c + 1) * granule);
}

void BlockPool::deallocate(void* block, std::size_t size) noexcept {
    std::size_t c = sizeClassOf(size);
    if (!pooling || c >= sizeClasses || freeLists.closed || freeLists.count[c] >= maxCached) {
        ::operator delete(block);
        return;
    }
    if (!freeLists.drainRegistered) registerDrainer();
    auto* entry = static_cast<FreeBlock*>(block);
    entry->next = freeLists.head[c];
    freeLists.head[c] = entry;
    ++freeLists.count[c];
}

namespace {

// Destruction is deferred onto a list while another destruction is running,
// so releasing a long chain of states (each holding the next through its
// links) does not recurse.
thread_local State* destroyList = nullptr;
thread_local bool destroying = false;

}  // namespace

void State::destroy(State* state) noexcept {
    state->next_ = destroyList;
    destroyList = state;
    if (destroying) return;
    destroying = true;
    while (State* next = destroyList) {
        destroyList = next->next_;
        delete next;
    }
    destroying = false;
}

State::~State() {
    while (Link* link = popFront()) delete link;
    if (slot_.failed()) logUnhandledFailure();
}

void State::logUnhandledFailure() noexcept {
    try {
        log::failure(slot_.failure(), "Unhandled error in Deferred");
    } catch (...) {
        // A failing observer must not take a destructor down with it.
    }
}

Link* State::popFront() noexcept {
    Link* link = head_;
    if (link != nullptr) {
        head_ = link->next_;
        if (head_ == nullptr) tail_ = nullptr;
        link->next_ = nullptr;
    }
    return link;
}

void State::appendQuietly(Link* link) noexcept {
    if (tail_ != nullptr) {
        tail_->next_ = link;
    } else {
        head_ = link;
    }
    tail_ = link;
}

void State::append(Link* link) noexcept {
    appendQuietly(link);
    if (called_ && paused_ == 0) runCallbacks();
}

bool State::tryFire(ResultSlot& result) {
    if (called_) {
        if (!suppressAlreadyCalled_) return false;
        suppressAlreadyCalled_ = false;
        return true;
    }
    called_ = true;
    // A fired Deferred can never call its canceller: dropping it now breaks
    // reference cycles through whatever the canceller holds.
    canceller_.reset();
    slot_.moveFrom(result);
    runCallbacks();
    return true;
}

void State::fire(ResultSlot& result) {
    if (!tryFire(result)) throw AlreadyCalledError();
}

void State::cancel() {
    StateRef self(this);
    if (!called_) {
        // Moved out first: the canceller may fire this Deferred, which would
        // otherwise destroy the canceller while it runs.
        std::unique_ptr<Canceller> canceller = std::move(canceller_);
        if (canceller) {
            canceller->cancel(*this);
        } else {
            suppressAlreadyCalled_ = true;
        }
        if (!called_) {
            ResultSlot failure;
            failure.setFailure(Failure(CancelledError()));
            tryFire(failure);
        }
    } else if (chainedTo_ != nullptr) {
        // Waiting on a Deferred a callback returned: cancel that one instead;
        // its CancelledError flows on into this chain.
        StateRef inner(chainedTo_);
        inner->cancel();
    }
}

void State::unpause() {
    if (paused_ == 0) throw std::logic_error("Deferred::unpause() without a matching pause()");
    if (--paused_ == 0 && called_) runCallbacks();
}

void State::waitOn(State& inner) {
    called_ = true;
    canceller_.reset();
    chainOnto(StateRef(&inner));
}

void State::chainOnto(StateRef inner) noexcept {
    ++paused_;
    chainedTo_ = inner.get();
    inner->tailType_ = tagOf<void>;
    inner->appendQuietly(new ContinueLink(*this));
    // The inner Deferred may already have fired (but be paused or running):
    // its chain reaches the continuation when it gets there.
}

// Twisted's _runCallbacks, iteratively: `stack` holds the Deferreds whose
// callbacks are being run; a continuation pushes the waiting Deferred, so
// nested chains never grow the C++ stack.
void State::runCallbacks() noexcept {
    if (onStack_) return;  // already running further up: it picks up new links
    retain();
    onStack_ = true;
    next_ = nullptr;
    State* stack = this;
    while (stack != nullptr) {
        State* current = stack;
        bool finished = true;
        while (current->paused_ == 0) {
            Link* link = current->popFront();
            if (link == nullptr) break;
            if (State* waiting = std::exchange(link->continues_, nullptr)) {
                delete link;
                waiting->slot_.moveFrom(current->slot_);
                current->slot_.setUnit();
                waiting->chainedTo_ = nullptr;
                if (--waiting->paused_ == 0 && !waiting->onStack_) {
                    waiting->onStack_ = true;  // takes over the link's reference
                    waiting->next_ = stack;
                    stack = waiting;
                    finished = false;
                    break;
                }
                waiting->release();
                continue;
            }
            StateRef inner = link->run(current->slot_);
            delete link;
            if (!inner) continue;
            if (inner.get() == current) {
                current->slot_.setFailure(Failure(std::logic_error(
                    "A callback returned the Deferred it was attached to: the chain would wait "
                    "for itself forever")));
            } else if (inner->settled()) {
                // Already fired: take its result and go on at once.
                current->slot_.moveFrom(inner->slot_);
                inner->slot_.setUnit();
                inner->tailType_ = tagOf<void>;
            } else {
                current->chainOnto(std::move(inner));
                break;
            }
        }
        if (finished) {
            stack = current->next_;
            current->next_ = nullptr;
            current->onStack_ = false;
            current->release();
        }
    }
}

}  // namespace twine::detail
