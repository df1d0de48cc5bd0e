// pollnotify internal: reading a C caller's versioned struct, whose first field is its own
// size (struct_size), so that an older caller's shorter struct keeps working. Do not include
// directly.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "pollnotify/internal/last_error.hpp"

namespace pn::internal {

// `out` holds the defaults; the fields within in->struct_size are copied over them. NULL `in`:
// the defaults. False, with -EINVAL and `message` recorded, for a struct_size below `required`
// (the size up to the last field every version has) or above this library's sizeof(T).
template <class T>
bool read_sized_struct(const T* in, T& out, std::size_t required, const char* message) noexcept {
  if (in == nullptr) return true;
  if (in->struct_size < required || in->struct_size > sizeof(T)) {
    fail_static(-EINVAL, message);
    return false;
  }
  std::memcpy(&out, in, in->struct_size);
  return true;
}

}  // namespace pn::internal
