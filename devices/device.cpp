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
#define PN_DEVICE_STATS_ADD(name, description) name += other.name;
  PN_DEVICE_COUNTERS(PN_DEVICE_STATS_ADD)
#undef PN_DEVICE_STATS_ADD
  return *this;
}

}  // namespace pn
