// DeferredList and gatherResults: result shapes, early firing, consumeErrors,
// cancellation (after test_defer.py's DeferredList and gatherResults tests).

#include "test_deferred_support.hpp"

#include <twine/core/deferred.hpp>
#include <twine/core/deferred_list.hpp>
#include <twine/core/error.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using deferred_test::LogCapture;
using deferred_test::watch;
using twine::CancelledError;
using twine::Deferred;
using twine::DeferredList;
using twine::DeferredListEntry;
using twine::Failure;
using twine::FirstError;

using Entries = std::vector<DeferredListEntry<std::string>>;

TEST_CASE("DeferredList fires with every outcome in the order given") {
    LogCapture logs;
    std::vector<Deferred<std::string>> ds(3);
    auto outcome = watch<Entries>(DeferredList<std::string>(ds, {.consumeErrors = true}));
    ds[2].callback("third");
    ds[0].callback("first");
    CHECK_FALSE(outcome->fired());
    ds[1].errback(twine::ConnectionLost());
    REQUIRE(outcome->succeeded());
    const Entries& entries = *outcome->value;
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].success);
    CHECK(entries[0].result == "first");
    CHECK_FALSE(entries[1].success);
    REQUIRE(entries[1].failure);
    CHECK(entries[1].failure->check<twine::ConnectionLost>());
    CHECK(entries[2].result == "third");
    CHECK(logs.lines.empty());
}

TEST_CASE("DeferredList of already-fired Deferreds fires at once") {
    std::vector<Deferred<int>> ds{twine::succeed(1), twine::succeed(2)};
    auto outcome = watch<std::vector<DeferredListEntry<int>>>(DeferredList<int>(ds));
    REQUIRE(outcome->succeeded());
    CHECK((*outcome->value)[1].result == 2);
}

TEST_CASE("an empty DeferredList fires at once with no entries") {
    auto outcome = watch<Entries>(DeferredList<std::string>({}));
    REQUIRE(outcome->succeeded());
    CHECK(outcome->value->empty());
}

TEST_CASE("an empty DeferredList with fireOnOneCallback never fires") {
    auto outcome = watch<Entries>(DeferredList<std::string>({}, {.fireOnOneCallback = true}));
    CHECK_FALSE(outcome->fired());
}

TEST_CASE("fireOnOneCallback fires at the first success; pending entries are unfinished") {
    std::vector<Deferred<std::string>> ds(3);
    auto outcome = watch<Entries>(DeferredList<std::string>(ds, {.fireOnOneCallback = true}));
    ds[1].callback("winner");
    REQUIRE(outcome->succeeded());
    const Entries& entries = *outcome->value;
    CHECK(entries[1].success);
    CHECK(entries[1].result == "winner");
    CHECK_FALSE(entries[0].finished());
    CHECK_FALSE(entries[2].finished());
    ds[0].callback("late");  // ignored by the list, which has fired
    CHECK(outcome->calls == 1);
}

TEST_CASE("fireOnOneErrback fails at the first failure with FirstError and its index") {
    std::vector<Deferred<std::string>> ds(3);
    auto outcome = watch<Entries>(
        DeferredList<std::string>(ds, {.fireOnOneErrback = true, .consumeErrors = true}));
    ds[0].callback("ok");
    ds[2].errback(twine::TimeoutError("slow"));
    REQUIRE(outcome->failed());
    REQUIRE(outcome->failure->check<FirstError>());
    try {
        outcome->failure->rethrow();
    } catch (const FirstError& e) {
        CHECK(e.index == 2);
        CHECK(e.subFailure.check<twine::TimeoutError>());
        CHECK(std::string(e.what()).find("slow") != std::string::npos);
    }
    ds[1].callback("after");
    CHECK(outcome->calls == 1);
}

TEST_CASE("without consumeErrors a source's failure stays unhandled and is logged") {
    LogCapture logs;
    {
        std::vector<Deferred<int>> ds(1);
        auto outcome = watch<std::vector<DeferredListEntry<int>>>(DeferredList<int>(ds));
        ds[0].errback(std::runtime_error("not consumed"));
        REQUIRE(outcome->succeeded());
        CHECK_FALSE((*outcome->value)[0].success);
    }
    CHECK(logs.count("Unhandled error in Deferred") == 1);
    CHECK(logs.count("not consumed") == 1);
}

TEST_CASE("with consumeErrors a source's failure is handled") {
    LogCapture logs;
    {
        std::vector<Deferred<int>> ds(1);
        auto outcome = watch<std::vector<DeferredListEntry<int>>>(
            DeferredList<int>(ds, {.consumeErrors = true}));
        ds[0].errback(std::runtime_error("consumed"));
        CHECK(outcome->succeeded());
    }
    CHECK(logs.lines.empty());
}

TEST_CASE("cancelling a DeferredList cancels every Deferred in it") {
    int cancels = 0;
    std::vector<Deferred<int>> ds{Deferred<int>([&](Deferred<int>&) { ++cancels; }),
                                  Deferred<int>([&](Deferred<int>&) { ++cancels; })};
    DeferredList<int> list(ds, {.consumeErrors = true});
    auto outcome = watch<std::vector<DeferredListEntry<int>>>(list);
    list.cancel();
    CHECK(cancels == 2);
    REQUIRE(outcome->succeeded());  // as Twisted: every entry is a CancelledError failure
    for (const auto& entry : *outcome->value) CHECK(entry.failure->check<CancelledError>());
}

TEST_CASE("a DeferredList of move-only values hands them over") {
    std::vector<Deferred<std::unique_ptr<int>>> ds(2);
    DeferredList<std::unique_ptr<int>> list(ds);
    int sum = 0;
    list.addCallback([&](std::vector<DeferredListEntry<std::unique_ptr<int>>> entries) {
        for (auto& e : entries) sum += **e.result;
    });
    ds[0].callback(std::make_unique<int>(1));
    ds[1].callback(std::make_unique<int>(2));
    CHECK(sum == 3);
}

TEST_CASE("DeferredList refuses a moved-from or re-typed Deferred with a clear error") {
    Deferred<int> d;
    Deferred<int> taken = std::move(d);
    CHECK_THROWS_AS(DeferredList<int>({d}), std::logic_error);  // NOLINT: moved from
    taken.addCallback([](int v) { return std::to_string(v); });
    CHECK_THROWS_AS(DeferredList<int>({taken}), std::logic_error);
    taken.callback(1);
}

TEST_CASE("gatherResults gives the values in order") {
    std::vector<Deferred<int>> ds(3);
    auto outcome = watch(twine::gatherResults(ds));
    ds[1].callback(20);
    ds[0].callback(10);
    ds[2].callback(30);
    CHECK(outcome->value == std::vector<int>{10, 20, 30});
}

TEST_CASE("gatherResults of nothing gives an empty vector") {
    auto outcome = watch(twine::gatherResults(std::vector<Deferred<int>>{}));
    CHECK(outcome->value == std::vector<int>{});
}

TEST_CASE("gatherResults fails with FirstError at the first failure") {
    std::vector<Deferred<int>> ds(2);
    auto outcome = watch(twine::gatherResults(ds, true));
    ds[1].errback(twine::ConnectionRefusedError());
    REQUIRE(outcome->failed());
    CHECK(outcome->failure->check<FirstError>());
    ds[0].callback(1);
}

TEST_CASE("gatherResults of Deferred<void> gives a Deferred<void>") {
    std::vector<Deferred<void>> ds(2);
    Deferred<void> all = twine::gatherResults(ds);
    auto outcome = watch(all);
    ds[0].callback();
    CHECK_FALSE(outcome->fired());
    ds[1].callback();
    CHECK(outcome->succeeded());
}

TEST_CASE("cancelling gatherResults cancels the Deferreds and fails with FirstError") {
    std::vector<Deferred<int>> ds(2);
    auto all = twine::gatherResults(ds, true);
    auto outcome = watch(all);
    all.cancel();
    REQUIRE(outcome->failed());
    REQUIRE(outcome->failure->check<FirstError>());
    CHECK(ds[0].called());
    CHECK(ds[1].called());
}
