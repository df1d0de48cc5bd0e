#include "pollnotify/runtime.hpp"

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace pn {

Runtime::Runtime(RuntimeOptions options) : options_(std::move(options)) {
  if (options_.pollers == 0 || options_.pollers > kMaxPollers) {
    throw std::invalid_argument("RuntimeOptions::pollers must be in [1, " +
                                std::to_string(kMaxPollers) + "] (Runtime::kMaxPollers)");
  }
  if (options_.stop_timeout.count() <= 0) {
    throw std::invalid_argument("RuntimeOptions::stop_timeout must be > 0");
  }
  for (std::size_t i = 0; i < options_.pollers; ++i) {
    PollerOptions poller_options = options_.poller;
    poller_options.cpu =
        options_.poller_cpus.empty() ? -1 : options_.poller_cpus[i % options_.poller_cpus.size()];
    poller_options.name = "pn-poller-" + std::to_string(i);
    pollers_.push_back(std::make_unique<Poller>(poller_options));
    poller_view_.push_back(pollers_.back().get());
  }
}

Runtime::~Runtime() {
  for (auto& poller : pollers_) {
    if (poller->running()) poller->stop();
  }
  devices_.clear();  // each completes what it still holds (ERR completions into the rings)
  pollers_.clear();  // each poller delivers what is left in its rings
}

Device& Runtime::add_device(std::unique_ptr<Device> device) {
  if (device == nullptr) throw std::invalid_argument("Runtime::add_device: no device");
  if (started_) throw std::logic_error("Runtime::add_device after start()");
  if (devices_.size() == kMaxDevices) {
    throw std::length_error("Runtime::add_device: " + std::to_string(kMaxDevices) +
                            " devices already (Runtime::kMaxDevices)");
  }
  devices_.push_back(std::move(device));
  return *devices_.back();
}

bool Runtime::start() {
  if (started_) return false;
  std::size_t started_pollers = 0, started_devices = 0;
  try {
    for (; started_pollers < pollers_.size(); ++started_pollers) {
      pollers_[started_pollers]->start();  // false for external: nothing to start
    }
    for (; started_devices < devices_.size(); ++started_devices) devices_[started_devices]->start();
  } catch (...) {
    for (std::size_t i = 0; i < started_devices; ++i) devices_[i]->stop();
    for (std::size_t i = 0; i < started_pollers; ++i) pollers_[i]->stop();
    throw;
  }
  started_ = true;
  started_pid_ = ::getpid();
  return true;
}

bool Runtime::stop() {
  if (!started_) return false;
  if (inside_own_callback()) {
    throw std::logic_error(
        "Runtime::stop called from inside one of the runtime's callbacks would wait for itself");
  }
  // Drain: every accepted request reaches its callback before the threads end, within the
  // timeout. Not in a forked child, where no thread would deliver the requests inherited from
  // the parent.
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  const auto deadline =
      options_.stop_timeout >= Clock::time_point::max() - now
          ? Clock::time_point::max()
          : now + std::chrono::duration_cast<Clock::duration>(options_.stop_timeout);
  stop_left_in_flight_ = 0;
  while (::getpid() == started_pid_ && in_flight() != 0) {
    if (Clock::now() >= deadline) {
      stop_left_in_flight_ = in_flight();
      break;
    }
    if (options_.poller.policy == PollPolicy::kExternal) {
      if (poll_once() == 0) std::this_thread::yield();
    } else {
      std::this_thread::yield();
    }
  }
  for (auto& device : devices_) device->stop();
  for (auto& poller : pollers_) poller->stop();
  started_ = false;
  return true;
}

bool Runtime::inside_own_callback() const noexcept {
  for (const auto& poller : pollers_) {
    if (poller->consuming_on_this_thread()) return true;
  }
  return false;
}

SubmitResult Runtime::submit(WaitCtx& ctx, std::uint64_t user_data) noexcept {
  if (devices_.empty()) {
    ctx.set_status(AsyncStatus::kErr);
    return SubmitResult::kFailed;
  }
  return devices_.front()->submit(ctx, user_data);
}

std::size_t Runtime::poll_once(std::size_t max) {
  std::size_t delivered = 0;
  for (auto& poller : pollers_) delivered += poller->poll_once(max);
  return delivered;
}

std::uint64_t Runtime::in_flight() const noexcept {
  std::uint64_t total = 0;
  for (const auto& device : devices_) total += device->in_flight();
  for (const auto& poller : pollers_) total += poller->in_flight();
  return total;
}

RuntimeStats Runtime::stats() const {
  RuntimeStats stats;
  for (const auto& poller : pollers_) {
    const PollerStats s = poller->stats();
    stats.pollers.push_back(s);
    stats.total += s;
  }
  for (const auto& device : devices_) {
    stats.devices.push_back(device->stats());
    stats.device += stats.devices.back();
  }
  return stats;
}

}  // namespace pn
