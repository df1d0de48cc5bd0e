#include "pollnotify/internal/last_error.hpp"

#include <cstring>

#include "pollnotify/error.h"

namespace pn::internal {
namespace {

// A fixed buffer: setting an error never allocates (and so never fails).
constinit thread_local char tls_last_error[256] = {};

}  // namespace

void set_last_error(const char* message) noexcept {
  std::strncpy(tls_last_error, message != nullptr ? message : "", sizeof tls_last_error - 1);
  tls_last_error[sizeof tls_last_error - 1] = '\0';
}

void clear_last_error() noexcept { tls_last_error[0] = '\0'; }

}  // namespace pn::internal

extern "C" const char* PN_get_last_error(void) { return pn::internal::tls_last_error; }
