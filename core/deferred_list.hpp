#pragma once

/// \file
/// Waiting on several Deferreds at once, as Twisted's DeferredList and
/// gatherResults.

#include <twine/core/deferred.hpp>
#include <twine/core/error.hpp>
#include <twine/core/failure.hpp>
#include <twine/core/log.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace twine {

/// The failure a DeferredList with fireOnOneErrback (and gatherResults)
/// fails with: which Deferred failed first, and how.
class FirstError : public Error {
public:
    /// The `failure` of the Deferred at position `index`.
    FirstError(Failure failure, std::size_t index)
        : Error("FirstError[#" + std::to_string(index) + ", " + failure.describe() + "]"),
          subFailure(std::move(failure)),
          index(index) {}

    Failure subFailure;  ///< How the first Deferred failed.
    std::size_t index;   ///< Its position in the list given.
};

/// What a DeferredList entry holds on success: the value (nothing for void).
template <class T>
using DeferredValue = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// One Deferred's outcome in a DeferredList, as Twisted's (success, result).
template <class T>
struct DeferredListEntry {
    bool success = false;                    ///< True if it fired with a value.
    std::optional<DeferredValue<T>> result;  ///< Set when success.
    std::optional<Failure> failure;          ///< Set when it failed.

    /// False only for the Deferreds still pending when fireOnOneCallback fired.
    bool finished() const { return result.has_value() || failure.has_value(); }
};

/// How a DeferredList fires: by default once every Deferred has fired.
struct DeferredListOptions {
    /// Fire as soon as one Deferred succeeds (entries still pending then are
    /// not finished()).
    bool fireOnOneCallback = false;
    /// Fail with FirstError as soon as one Deferred fails.
    bool fireOnOneErrback = false;
    /// Handle the failures of the Deferreds given (no "Unhandled error" log);
    /// otherwise each stays failed for its own chain to handle.
    bool consumeErrors = false;
};

namespace detail {

template <class T>
struct DeferredListContext {
    std::vector<DeferredListEntry<T>> entries;
    std::size_t finished = 0;
    DeferredListOptions options;
    Deferred<std::vector<DeferredListEntry<T>>> list;

    void record(std::size_t index, ResultSlot& slot) {
        DeferredListEntry<T> entry;
        if (slot.failed()) {
            entry.failure = slot.failure();
            if (options.consumeErrors) slot.setUnit();
        } else {
            entry.success = true;
            if constexpr (std::is_void_v<T>) {
                entry.result.emplace();
            } else {
                entry.result.emplace(slot.take<T>());
            }
            slot.setUnit();
        }
        ++finished;
        if (list.called()) return;
        entries[index] = std::move(entry);
        if (entries[index].success && options.fireOnOneCallback) {
            list.callback(std::move(entries));
        } else if (!entries[index].success && options.fireOnOneErrback) {
            list.errback(Failure(FirstError(*entries[index].failure, index)));
        } else if (finished == entries.size()) {
            list.callback(std::move(entries));
        }
    }
};

template <class T>
void cancelAll(std::vector<Deferred<T>>& deferreds) {
    for (auto& d : deferreds) {
        try {
            d.cancel();
        } catch (...) {
            log::failure(Failure(), "Exception raised from user supplied canceller");
        }
    }
}

}  // namespace detail

/// Fires with every Deferred's outcome, in the order given, once all have
/// fired (see DeferredListOptions for the early exits). Cancelling it cancels
/// every Deferred in it. The given Deferreds' results are taken: their chains
/// carry nothing (or, without consumeErrors, their failure) afterwards.
template <class T>
class DeferredList : public Deferred<std::vector<DeferredListEntry<T>>> {
    using Base = Deferred<std::vector<DeferredListEntry<T>>>;

public:
    /// Watches `deferreds`; fires at once with no entries if the vector is
    /// empty (unless fireOnOneCallback). Throws std::logic_error for a
    /// moved-from handle or one whose chain changed type.
    explicit DeferredList(std::vector<Deferred<T>> deferreds, DeferredListOptions options = {})
        : Base([sources = deferreds](Base&) mutable { detail::cancelAll(sources); }) {
        auto context = std::make_shared<detail::DeferredListContext<T>>();
        context->entries.resize(deferreds.size());
        context->options = options;
        context->list = *this;
        if (deferreds.empty() && !options.fireOnOneCallback) {
            this->callback(std::vector<DeferredListEntry<T>>{});
        }
        for (std::size_t index = 0; index < deferreds.size(); ++index) {
            watch(deferreds[index], index, context);
        }
    }

private:
    static void watch(Deferred<T>& d, std::size_t index,
                      const std::shared_ptr<detail::DeferredListContext<T>>& context) {
        detail::StateRef state = detail::stateOf(d);
        if (!state) throw std::logic_error("DeferredList: a moved-from Deferred was given");
        if (state->tailType() != detail::tagOf<T>) {
            throw std::logic_error("DeferredList: a Deferred handle whose chain changed type");
        }
        state->setTailType(detail::tagOf<void>);
        state->append(new detail::SlotLink([context, index](detail::ResultSlot& slot) {
            detail::guarded("DeferredList", [&] { context->record(index, slot); });
        }));
    }
};

/// Fires with every value, in order, once all have succeeded; fails with
/// FirstError at the first failure.
template <class T>
auto gatherResults(std::vector<Deferred<T>> deferreds, bool consumeErrors = false) {
    DeferredList<T> list(std::move(deferreds),
                         {.fireOnOneErrback = true, .consumeErrors = consumeErrors});
    return list.addCallback([](std::vector<DeferredListEntry<T>> entries) {
        if constexpr (!std::is_void_v<T>) {
            std::vector<T> values;
            values.reserve(entries.size());
            for (auto& entry : entries) values.push_back(std::move(*entry.result));
            return values;
        }
    });
}

}  // namespace twine
