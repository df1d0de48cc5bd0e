#include "pollnotify/internal/last_error.hpp"

#include <cstring>
#include <new>
#include <stdexcept>
#include <system_error>

#include "pollnotify/error.h"

namespace pn::internal {
namespace {

// A fixed buffer: recording a failure never allocates (and so never fails).
constinit thread_local char tls_message_copy[256] = {};
constinit thread_local const char* tls_message = "";
constinit thread_local int tls_code = 0;

}  // namespace

int fail(int code, const char* message) noexcept {
  std::strncpy(tls_message_copy, message != nullptr ? message : "", sizeof tls_message_copy - 1);
  tls_message_copy[sizeof tls_message_copy - 1] = '\0';
  tls_message = tls_message_copy;
  tls_code = code;
  return code;
}

int fail_static(int code, const char* message) noexcept {
  tls_message = message != nullptr ? message : "";
  tls_code = code;
  return code;
}

int fail_with_current_exception() noexcept {
  try {
    throw;
  } catch (const std::invalid_argument& error) {
    return fail(-EINVAL, error.what());
  } catch (const std::length_error& error) {
    return fail(-ENOSPC, error.what());
  } catch (const std::system_error& error) {
    const int value = error.code().value();
    return fail(value > 0 ? -value : -EIO, error.what());
  } catch (const std::logic_error& error) {
    return fail(-EBUSY, error.what());
  } catch (const std::bad_alloc&) {
    return fail_static(-ENOMEM, "out of memory");
  } catch (const std::exception& error) {
    return fail(-EIO, error.what());
  } catch (...) {
    return fail_static(-EIO, "unknown exception");
  }
}

}  // namespace pn::internal

extern "C" {

const char* PN_get_last_error(void) { return pn::internal::tls_message; }

int PN_get_last_error_code(void) { return pn::internal::tls_code; }

void PN_clear_last_error(void) {
  pn::internal::tls_message = "";
  pn::internal::tls_code = 0;
}

}  // extern "C"
