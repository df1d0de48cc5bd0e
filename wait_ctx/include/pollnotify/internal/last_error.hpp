// pollnotify internal: the thread's last C API error message (see <pollnotify/error.h>). Do not
// include directly.
#pragma once

#include <exception>

namespace pn::internal {

void set_last_error(const char* message) noexcept;
void clear_last_error() noexcept;

// Runs body() at a C API boundary: an exception becomes the last error and `failed`.
template <class Result, class Body>
Result c_boundary(Result failed, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& error) {
    set_last_error(error.what());
  } catch (...) {
    set_last_error("unknown exception");
  }
  return failed;
}

}  // namespace pn::internal
