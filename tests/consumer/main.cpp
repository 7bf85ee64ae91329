// A program outside the tree: it proves the installed headers and the
// CMake package are enough to build against twine.
#include <twine/twine.hpp>

#include <iostream>

int main() {
    twine::Reactor reactor;
    int answer = 0;
    reactor.callLater(std::chrono::milliseconds(1), [&] {
        answer = 42;
        reactor.stop();
    });
    reactor.run();
    auto d = twine::succeed(answer);
    d.addCallback([](int v) { std::cout << "consumer got " << v << "\n"; });
    return answer == 42 ? 0 : 1;
}
