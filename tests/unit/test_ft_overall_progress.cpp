#include "overall_progress.hpp"

#include <doctest/doctest.h>

using twine_ft::OverallProgress;

TEST_CASE("the overall line counts files and bytes of the plan, with rate and time left") {
    OverallProgress progress;
    progress.filesDone = 412;
    progress.filesTotal = 1000;
    progress.bytesDone = 100 << 20;
    progress.bytesTotal = 400 << 20;
    progress.bytesMoved = 100 << 20;
    progress.elapsed = 2;
    CHECK(progress.rate() == doctest::Approx(50 << 20));
    CHECK(progress.secondsLeft() == doctest::Approx(6));
    CHECK(progress.percent() == doctest::Approx(25));
    std::string line = progress.line();
    CHECK(line.find("412/1000 files") == 0);
    CHECK(line.find("25%") != std::string::npos);
    CHECK(line.find("ETA") != std::string::npos);
}

TEST_CASE("files already up to date count as done though nothing moved") {
    OverallProgress progress;
    progress.filesDone = 10;
    progress.filesTotal = 10;
    progress.bytesDone = 4096;
    progress.bytesTotal = 4096;
    progress.elapsed = 0.5;
    CHECK(progress.percent() == doctest::Approx(100));
    CHECK(progress.rate() == 0);
    CHECK(progress.secondsLeft() < 0);  // no rate yet: unknown, not zero or infinite
    CHECK(progress.line().find("ETA --:--") != std::string::npos);
}

TEST_CASE("without a plan (a fetch) the line shows what is done and how fast") {
    OverallProgress progress;
    progress.filesDone = 3;
    progress.bytesDone = 3 << 20;
    progress.bytesMoved = 3 << 20;
    progress.elapsed = 1;
    CHECK(progress.secondsLeft() < 0);
    CHECK(progress.line().find("3 files") == 0);
    CHECK(progress.line().find("ETA") == std::string::npos);
}

TEST_CASE("a plan of empty files is measured in files") {
    OverallProgress progress;
    progress.filesDone = 1;
    progress.filesTotal = 4;
    CHECK(progress.percent() == doctest::Approx(25));
}
