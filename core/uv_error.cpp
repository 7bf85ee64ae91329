#include <twine/core/uv_error.hpp>

#include <uv.h>

namespace twine::detail {

std::string uvErrorText(int status) {
    return std::string(uv_strerror(status)) + " (" + uv_err_name(status) + ")";
}

}  // namespace twine::detail
