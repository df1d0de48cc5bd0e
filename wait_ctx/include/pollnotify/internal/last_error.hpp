// pollnotify internal: the C API's failures (the rule is in <pollnotify/error.h>). Do not include
// directly.
#pragma once

#include <cerrno>
#include <exception>

namespace pn::internal {

// Records a failure for the calling thread and returns `code` (a negative errno value). The
// message is copied: it may be a temporary.
int fail(int code, const char* message) noexcept;
// The same for a message that lives for the program (a literal): nothing is copied.
int fail_static(int code, const char* message) noexcept;

// The negative errno value the C API reports for an exception a C++ call threw, recorded with
// its message: std::invalid_argument -EINVAL, std::length_error -ENOSPC, std::bad_alloc -ENOMEM,
// std::system_error its own value, any other std::logic_error -EBUSY (misuse), the rest -EIO.
int fail_with_current_exception() noexcept;

// Runs body() at a C API boundary for a call that returns an int (rule 1): an exception becomes
// the recorded failure and its code.
template <class Body>
int c_call(Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return fail_with_current_exception();
  }
}

// The same for a call that returns a pointer (rule 2): NULL on an exception.
template <class Pointer, class Body>
Pointer* c_call_pointer(Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    fail_with_current_exception();
    return nullptr;
  }
}

}  // namespace pn::internal
