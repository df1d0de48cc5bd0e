// The adapter from a C device table to pn::Device.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "pollnotify/c_device.hpp"
#include "pollnotify/internal/device_counters.hpp"

namespace pn {
namespace {

class CDevice final : public Device {
 public:
  CDevice(const PN_DEVICE_METHOD& method, void* device, std::span<Poller* const> pollers)
      : method_(read_method(method)), device_(device), name_(method_.name ? method_.name : "c") {
    if (method_.poll == nullptr) return;
    sources_.reserve(pollers.size());
    try {
      for (std::size_t i = 0; i < pollers.size(); ++i) {
        sources_.push_back(std::make_unique<Source>(*this, *pollers[i], i));
        pollers[i]->add_source(*sources_.back());
      }
    } catch (...) {
      remove_sources();
      throw;
    }
  }

  ~CDevice() override {
    remove_sources();
    if (owns_state_ && method_.destroy != nullptr) method_.destroy(device_);
  }

  void adopt() noexcept { owns_state_ = true; }

  SubmitResult submit(WaitCtx& ctx, std::uint64_t user_data) noexcept override {
    using internal::DeviceCounters;
    DeviceCounters::add(counters_.submitted);
    const int result = method_.submit(device_, ctx.c_handle(), user_data);
    if (result == 0) {
      ctx.ensure_status(AsyncStatus::kOk);
      DeviceCounters::add(counters_.accepted);
      return SubmitResult::kAccepted;
    }
    if (result == -EAGAIN)
      return DeviceCounters::refuse(ctx, SubmitResult::kRetry, counters_.refused_other);
    return DeviceCounters::refuse(ctx, SubmitResult::kFailed, counters_.failed);
  }
  [[nodiscard]] std::uint64_t capacity() const noexcept override {
    return method_.capacity(device_);
  }
  [[nodiscard]] std::uint64_t in_flight() const noexcept override {
    return method_.in_flight(device_);
  }
  [[nodiscard]] DeviceStats stats() const noexcept override {
    // What the table's counters the library keeps say, then the device's own (get_stats fills
    // what only it knows: completions), then its in-flight count.
    DeviceStats stats = counters_.snapshot(0);
    PN_DEVICE_STATS c_stats{};
    c_stats.struct_size = sizeof c_stats;
#define PN_DEVICE_STATS_TO_C(name, description) c_stats.name = stats.name;
    PN_DEVICE_COUNTERS(PN_DEVICE_STATS_TO_C)
#undef PN_DEVICE_STATS_TO_C
    if (method_.get_stats != nullptr) method_.get_stats(device_, &c_stats);
    c_stats.in_flight = method_.in_flight(device_);
#define PN_DEVICE_STATS_FROM_C(name, description) stats.name = c_stats.name;
    PN_DEVICE_COUNTERS(PN_DEVICE_STATS_FROM_C)
#undef PN_DEVICE_STATS_FROM_C
    return stats;
  }
  [[nodiscard]] std::string_view name() const noexcept override { return name_; }
  void start() override {
    if (method_.start == nullptr) return;
    if (const int result = method_.start(device_); result != 0) {
      // The device's own negative errno value travels to PN_RUNTIME_start.
      throw std::system_error(result < 0 ? -result : EIO, std::generic_category(),
                              "device '" + name_ + "' failed to start");
    }
  }
  void stop() override {
    if (method_.stop != nullptr) method_.stop(device_);
  }

 private:
  struct Source final : PollSource {
    Source(CDevice& owner, Poller& bound, std::size_t index)
        : device(owner), poller(bound), poller_index(index) {}
    std::size_t poll() override { return device.method_.poll(device.device_, poller_index); }
    std::uint64_t pending_ns() override {
      return device.method_.pending_ns != nullptr
                 ? device.method_.pending_ns(device.device_, poller_index)
                 : 0;
    }
    CDevice& device;
    Poller& poller;
    std::size_t poller_index;
  };

  // The caller's table, its missing newer fields left NULL.
  static PN_DEVICE_METHOD read_method(const PN_DEVICE_METHOD& method) {
    const std::size_t required = offsetof(PN_DEVICE_METHOD, in_flight) + sizeof method.in_flight;
    if (method.struct_size < required || method.struct_size > sizeof(PN_DEVICE_METHOD)) {
      throw std::invalid_argument("PN_DEVICE_METHOD.struct_size is not a size this library knows");
    }
    PN_DEVICE_METHOD copy{};
    std::memcpy(&copy, &method, method.struct_size);
    if (copy.submit == nullptr || copy.capacity == nullptr || copy.in_flight == nullptr) {
      throw std::invalid_argument("PN_DEVICE_METHOD needs submit, capacity and in_flight");
    }
    return copy;
  }

  void remove_sources() noexcept {
    for (auto& source : sources_) {
      try {
        (void)source->poller.remove_source(*source);
      } catch (const std::logic_error&) {
        // The poller still runs: the runtime stops its pollers before freeing devices, so only
        // a misuse gets here; the source stays registered rather than the process aborting.
        (void)source.release();
      }
    }
    sources_.clear();
  }

  const PN_DEVICE_METHOD method_;
  void* const device_;
  const std::string name_;
  std::vector<std::unique_ptr<Source>> sources_;
  bool owns_state_ = false;            // method.destroy runs only for a device a runtime accepted
  internal::DeviceCounters counters_;  // what submit() sees; the device reports the rest
};

}  // namespace

std::unique_ptr<Device> make_c_device(const PN_DEVICE_METHOD& method, void* device,
                                      std::span<Poller* const> pollers) {
  return std::make_unique<CDevice>(method, device, pollers);
}

void adopt_c_state(Device& device) noexcept { static_cast<CDevice&>(device).adopt(); }

}  // namespace pn
