#include "pollnotify/device.hpp"

namespace pn {

const char* to_string(SubmitResult result) noexcept {
  switch (result) {
    case SubmitResult::kAccepted:
      return "accepted";
    case SubmitResult::kRetry:
      return "retry";
    case SubmitResult::kFailed:
      return "failed";
  }
  return "unknown";
}

DeviceStats& DeviceStats::operator+=(const DeviceStats& other) noexcept {
  submitted += other.submitted;
  accepted += other.accepted;
  refused_full += other.refused_full;
  refused_other += other.refused_other;
  failed += other.failed;
  completed += other.completed;
  completed_err += other.completed_err;
  in_flight += other.in_flight;
  return *this;
}

}  // namespace pn
