#pragma once

// The untyped machinery behind Deferred<T>: a reference-counted chain state, the
// slot holding its current result, and the links (callback/errback pairs) it runs.
// Deferred<T> is a typed handle on a State; everything here is internal.

#include <twine/core/failure.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace twine::detail {

/// What a Deferred<void> carries: nothing, but a value all the same.
struct Unit {};

template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, Unit, T>;

/// A unique address per stored type: lets the untyped state check that a handle
/// and the chain agree on the type travelling down it, without RTTI.
template <class T>
struct TypeTag {
    static constexpr char id = 0;
};
template <class T>
inline constexpr const void* tagOf = &TypeTag<Stored<std::remove_cv_t<T>>>::id;

/// The current result of a chain: empty, a value of some type, or a Failure.
/// Small values live inline (no allocation for the common case); larger ones
/// are boxed on the heap.
class ResultSlot {
public:
    ResultSlot() = default;
    ResultSlot(const ResultSlot&) = delete;
    ResultSlot& operator=(const ResultSlot&) = delete;
    ~ResultSlot() { reset(); }

    bool empty() const { return ops_ == nullptr; }
    bool failed() const { return ops_ == &opsFor<Failure>; }
    bool holds(const void* tag) const { return ops_ != nullptr && ops_->tag == tag; }

    void reset() noexcept {
        if (ops_ != nullptr) ops_->destroy(storage_);
        ops_ = nullptr;
    }

    template <class T, class... Args>
    void emplace(Args&&... args) {
        reset();
        if constexpr (inlined<T>) {
            ::new (static_cast<void*>(storage_)) T(std::forward<Args>(args)...);
        } else {
            ::new (static_cast<void*>(storage_)) T*(new T(std::forward<Args>(args)...));
        }
        ops_ = &opsFor<T>;
    }

    void setUnit() noexcept {
        reset();
        ops_ = &opsFor<Unit>;
    }
    void setFailure(Failure failure) { emplace<Failure>(std::move(failure)); }

    /// Moves the value out, leaving the slot empty. Throws std::logic_error if
    /// the slot does not hold a T (a stale handle or a misuse).
    template <class T>
    T take() {
        if (ops_ != &opsFor<T>) throwMismatch();
        T* object = pointer<T>();
        T value(std::move(*object));
        reset();
        return value;
    }

    const Failure& failure() const { return *const_cast<ResultSlot*>(this)->pointer<Failure>(); }

    /// Takes other's result; other is left empty.
    void moveFrom(ResultSlot& other) noexcept {
        reset();
        if (other.ops_ == nullptr) return;
        other.ops_->relocate(storage_, other.storage_);
        ops_ = std::exchange(other.ops_, nullptr);
    }

private:
    struct Ops {
        void (*destroy)(void* storage) noexcept;
        void (*relocate)(void* to, void* from) noexcept;
        const void* tag;
    };

    static constexpr std::size_t capacity = sizeof(Failure);
    static constexpr std::size_t alignment = alignof(std::max_align_t);

    template <class T>
    static constexpr bool inlined =
        sizeof(T) <= capacity && alignof(T) <= alignment&& std::is_nothrow_move_constructible_v<T>;

    template <class T>
    static void destroyOf(void* storage) noexcept {
        if constexpr (inlined<T>) {
            static_cast<T*>(storage)->~T();
        } else {
            delete *static_cast<T**>(storage);
        }
    }

    template <class T>
    static void relocateOf(void* to, void* from) noexcept {
        if constexpr (inlined<T>) {
            ::new (to) T(std::move(*static_cast<T*>(from)));
            static_cast<T*>(from)->~T();
        } else {
            ::new (to) T*(*static_cast<T**>(from));
        }
    }

    template <class T>
    static constexpr Ops opsFor{&destroyOf<T>, &relocateOf<T>, tagOf<T>};

    template <class T>
    T* pointer() {
        if constexpr (inlined<T>) {
            return std::launder(reinterpret_cast<T*>(storage_));
        } else {
            return *std::launder(reinterpret_cast<T**>(storage_));
        }
    }

    [[noreturn]] static void throwMismatch();

    const Ops* ops_ = nullptr;
    alignas(alignment) unsigned char storage_[capacity];
};

/// Per-thread free lists for the small blocks every Deferred allocates (its
/// state and its links), so that a chain step costs no malloc. Blocks may be
/// freed on another thread than the one that allocated them.
struct BlockPool {
    static void* allocate(std::size_t size);
    static void deallocate(void* block, std::size_t size) noexcept;
};

/// Gives a class its allocations from the BlockPool.
struct Pooled {
    static void* operator new(std::size_t size) { return BlockPool::allocate(size); }
    static void operator delete(void* block, std::size_t size) noexcept {
        BlockPool::deallocate(block, size);
    }
};

class State;

/// An owning pointer to a State (intrusive reference count).
class StateRef {
public:
    StateRef() = default;
    /// Adopts one reference already counted for `state`.
    static StateRef adopt(State* state) noexcept {
        StateRef ref;
        ref.state_ = state;
        return ref;
    }
    explicit StateRef(State* state) noexcept;
    StateRef(const StateRef& other) noexcept : StateRef(other.state_) {}
    StateRef(StateRef&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    StateRef& operator=(StateRef other) noexcept {
        std::swap(state_, other.state_);
        return *this;
    }
    ~StateRef() { reset(); }

    /// Drops the reference. The pointer is cleared before the release, so the
    /// release may destroy the object that holds this StateRef.
    void reset() noexcept;
    State* release() noexcept { return std::exchange(state_, nullptr); }
    State* get() const noexcept { return state_; }
    State* operator->() const noexcept { return state_; }
    State& operator*() const noexcept { return *state_; }
    explicit operator bool() const noexcept { return state_ != nullptr; }

private:
    State* state_ = nullptr;
};

/// One entry of a chain: a callback/errback pair, or an internal step.
class Link : public Pooled {
public:
    Link() = default;
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;
    virtual ~Link() = default;

    /// Runs the callback (or the errback, if `slot` holds a Failure) on the
    /// slot's result and leaves the outcome in `slot`; or returns the Deferred
    /// the chain must wait for (the slot is then empty). Never throws.
    virtual StateRef run(ResultSlot& slot) noexcept = 0;

private:
    friend class State;
    friend class ContinueLink;
    Link* next_ = nullptr;
    /// Set only on a continuation: the chain waiting for this one's result.
    State* continues_ = nullptr;
};

/// A link made of one function over the raw slot: the internal steps of
/// DeferredList, addTimeout and coroutines. fn must not throw.
template <class F>
class SlotLink final : public Link {
public:
    explicit SlotLink(F fn) : fn_(std::move(fn)) {}
    StateRef run(ResultSlot& slot) noexcept override {
        fn_(slot);
        return {};
    }

private:
    F fn_;
};

/// What cancel() calls first, if the Deferred was built with a canceller.
class Canceller {
public:
    virtual ~Canceller() = default;
    virtual void cancel(State& state) = 0;
};

/// The shared chain behind every handle of one Deferred.
class State : public Pooled {
public:
    explicit State(const void* type) noexcept : rootType_(type), tailType_(type) {}
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State();

    void retain() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) destroy(this);
    }
    std::uint32_t refs() const noexcept { return refs_; }

    /// The type the chain starts with (what callback() must be given) and
    /// the type its last link produces (what the next callback receives).
    const void* rootType() const { return rootType_; }
    const void* tailType() const { return tailType_; }
    void setTailType(const void* type) { tailType_ = type; }

    bool called() const { return called_; }
    bool paused() const { return paused_ > 0; }
    /// Fired, and its result is there to take now: not paused, not waiting on
    /// another Deferred, not in the middle of running its callbacks.
    bool settled() const { return called_ && paused_ == 0 && !onStack_ && head_ == nullptr; }
    ResultSlot& slot() { return slot_; }

    /// Appends a link and runs the chain if it has a result.
    void append(Link* link) noexcept;
    /// Appends a link without running anything (the caller knows it cannot run).
    void appendQuietly(Link* link) noexcept;

    /// Fires the chain with the slot's result. Returns false (and leaves
    /// `result` as it was) if already called; a suppressed second fire after a
    /// cancel() returns true.
    bool tryFire(ResultSlot& result);
    /// As tryFire, but a second fire throws AlreadyCalledError.
    void fire(ResultSlot& result);

    void cancel();
    void setCanceller(std::unique_ptr<Canceller> canceller) { canceller_ = std::move(canceller); }
    void clearCanceller() noexcept { canceller_.reset(); }

    void pause() noexcept { ++paused_; }
    void unpause();

    /// Marks this unfired Deferred as called, waiting on `inner` for its
    /// result (used by coroutine cancellation, as Twisted's handleCancel).
    void waitOn(State& inner);

private:
    static void destroy(State* state) noexcept;
    void runCallbacks() noexcept;
    Link* popFront() noexcept;
    void chainOnto(StateRef inner) noexcept;
    void logUnhandledFailure() noexcept;

    std::uint32_t refs_ = 1;
    std::int32_t paused_ = 0;
    bool called_ = false;
    bool onStack_ = false;
    bool suppressAlreadyCalled_ = false;
    const void* rootType_;
    const void* tailType_;
    Link* head_ = nullptr;
    Link* tail_ = nullptr;
    /// The Deferred this one waits on (not owned: its continuation link,
    /// which it owns, clears this pointer if it goes away unrun).
    State* chainedTo_ = nullptr;
    /// Intrusive stack of runCallbacks, and of deferred destruction.
    State* next_ = nullptr;
    std::unique_ptr<Canceller> canceller_;
    ResultSlot slot_;

    friend class ContinueLink;
};

inline StateRef::StateRef(State* state) noexcept : state_(state) {
    if (state_ != nullptr) state_->retain();
}

inline void StateRef::reset() noexcept {
    if (State* state = std::exchange(state_, nullptr)) state->release();
}

}  // namespace twine::detail
