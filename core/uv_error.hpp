#pragma once

#include <string>

namespace twine::detail {

/// "connection refused (ECONNREFUSED)": libuv's text for an error code.
std::string uvErrorText(int status);

}  // namespace twine::detail
