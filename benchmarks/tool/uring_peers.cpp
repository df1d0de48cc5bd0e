#include "uring_peers.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "floor.hpp"
#include "loopback_echo.hpp"
#include "measure_window.hpp"
#include "pollnotify/clock.hpp"

#ifdef PN_BENCH_WITH_URING
#include <liburing.h>
#endif

namespace pn::bench {

#ifdef PN_BENCH_WITH_URING

namespace {

int open_for_reading(const std::string& path, std::uint64_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  }
  size = static_cast<std::uint64_t>(info.st_size);
  return fd;
}

unsigned entries_for(std::size_t depth) {
  return std::bit_ceil(static_cast<unsigned>(std::max<std::size_t>(depth, 1)));
}

// The application's own ring: `jobs` slots, each one request at a time.
class NativeRing {
 public:
  NativeRing(const DeviceSpec& spec, const WorkloadOptions& options, Mechanism mechanism)
      : spec_(spec), slots_(options.jobs) {
    io_uring_params params{};
    if (spec.sqpoll) {
      params.flags |= IORING_SETUP_SQPOLL;
      params.sq_thread_idle = 100;
    }
    const int error = io_uring_queue_init_params(entries_for(options.jobs), &ring_, &params);
    if (error < 0) throw std::system_error(-error, std::generic_category(), "io_uring_queue_init");
    if (!spec.read_path.empty() || spec.echo)
      buffers_.resize(slots_.size() * DeviceSpec::kReadSize);
    if (!spec.read_path.empty()) file_ = open_for_reading(spec.read_path, file_size_);
    if (spec.echo) echo_ = std::make_unique<LoopbackEcho>();
    if (mechanism == Mechanism::kUringEventfd) {
      eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
      epoll_event interest{};
      interest.events = EPOLLIN;
      if (eventfd_ < 0 || epoll_ < 0 || io_uring_register_eventfd(&ring_, eventfd_) != 0 ||
          ::epoll_ctl(epoll_, EPOLL_CTL_ADD, eventfd_, &interest) != 0) {
        throw std::runtime_error("cannot set up io_uring's eventfd + epoll");
      }
    }
  }
  ~NativeRing() {
    io_uring_queue_exit(&ring_);
    for (int fd : {file_, eventfd_, epoll_}) {
      if (fd >= 0) ::close(fd);
    }
  }
  NativeRing(const NativeRing&) = delete;
  NativeRing& operator=(const NativeRing&) = delete;

  // Queues slot's next request (submitted by flush); `start_ticks` is when its latency starts.
  bool queue(std::size_t slot, std::uint64_t start_ticks) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return false;
    int echo_client = -1;
    if (spec_.echo) {
      echo_client = echo_->next_client();
      io_uring_prep_recv(sqe, echo_client, buffers_.data() + slot * DeviceSpec::kReadSize,
                         LoopbackEcho::kMessage, MSG_WAITALL);
    } else if (spec_.read_path.empty()) {
      io_uring_prep_nop(sqe);
    } else {
      const std::uint64_t blocks = std::max<std::uint64_t>(1, file_size_ / DeviceSpec::kReadSize);
      io_uring_prep_read(sqe, file_, buffers_.data() + slot * DeviceSpec::kReadSize,
                         DeviceSpec::kReadSize, (reads_++ % blocks) * DeviceSpec::kReadSize);
    }
    io_uring_sqe_set_data64(sqe, slot);
    slots_[slot] = start_ticks;
    ++outstanding_;
    // The message goes out now; its echo completes the receive once flush() submitted it.
    if (echo_client >= 0) (void)LoopbackEcho::send_message(echo_client);
    return true;
  }
  void flush() { (void)io_uring_submit(&ring_); }

  // Waits up to `limit` for completions (as the mechanism does) and calls done(slot, res) for
  // each; returns how many.
  template <class Done>
  std::size_t reap(Mechanism mechanism, std::chrono::nanoseconds limit, Done&& done) {
    if (outstanding_ == 0) return 0;
    if (mechanism == Mechanism::kUringWait) {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec timeout{0, static_cast<long long>(limit.count())};
      if (io_uring_wait_cqe_timeout(&ring_, &cqe, &timeout) != 0) return 0;
    } else if (io_uring_cq_ready(&ring_) == 0) {
      epoll_event event{};
      const timespec timeout{0, static_cast<long>(limit.count())};
      if (::epoll_pwait2(epoll_, &event, 1, &timeout, nullptr) <= 0) return 0;
      eventfd_t value = 0;
      (void)::eventfd_read(eventfd_, &value);
    }
    io_uring_cqe* cqes[64];
    const unsigned seen = io_uring_peek_batch_cqe(&ring_, cqes, 64);
    for (unsigned i = 0; i < seen; ++i) {
      const auto slot = static_cast<std::size_t>(cqes[i]->user_data);
      --outstanding_;
      done(slot, slots_[slot], cqes[i]->res);
    }
    io_uring_cq_advance(&ring_, seen);
    return seen;
  }
  [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }

 private:
  const DeviceSpec& spec_;
  io_uring ring_{};
  std::vector<std::uint64_t> slots_;  // start ticks of each slot's request
  std::vector<unsigned char> buffers_;
  int file_ = -1, eventfd_ = -1, epoll_ = -1;
  std::uint64_t file_size_ = 0, reads_ = 0;
  std::size_t outstanding_ = 0;
  std::unique_ptr<LoopbackEcho> echo_;  // uring:echo
};

}  // namespace

UringOptions uring_options(const DeviceSpec& spec, std::size_t depth, int& file) {
  UringOptions options;
  options.entries = entries_for(depth);
  options.max_in_flight = static_cast<unsigned>(depth);
  options.sqpoll = spec.sqpoll;
  if (!spec.read_path.empty()) {
    std::uint64_t size = 0;
    file = open_for_reading(spec.read_path, size);
    options.default_op = UringDefaultOp::kRead;
    options.default_fd = file;
    options.default_read_size = DeviceSpec::kReadSize;
    options.default_file_size = size;
  }
  return options;
}

RunResult run_native_uring(Mechanism mechanism, const WorkloadOptions& options,
                           const std::atomic<bool>& stop) {
  DeviceSpec spec;
  if (const auto error = parse_device_spec(options.device, spec)) throw std::runtime_error(*error);
  pin_this_thread_checked(options.app_cpu);
  CheapClock::calibrate();
  const double ns_per_tick = CheapClock::ns_per_tick();
  RunResult result;
  result.mechanism = mechanism;
  result.device = options.device;
  result.rate = options.rate;
  result.jobs = options.jobs;
  NativeRing ring(spec, options, mechanism);

  MeasureWindow window(options, result, stop);
  const bool open_loop = options.rate > 0;
  const double interval_ticks = open_loop ? 1e9 / options.rate / ns_per_tick : 0;
  double next_send = static_cast<double>(CheapClock::ticks());
  std::vector<std::size_t> idle;
  for (std::size_t slot = options.jobs; slot-- > 0;) idle.push_back(slot);
  // Sends what is due: every idle slot in closed loop, the schedule's requests in open loop.
  const auto send = [&] {
    bool queued = false;
    while (!idle.empty() && !window.stopping()) {
      std::uint64_t start = CheapClock::ticks();
      if (open_loop) {
        if (next_send > static_cast<double>(start)) break;
        start = static_cast<std::uint64_t>(next_send);
        next_send += interval_ticks;
      }
      if (!ring.queue(idle.back(), start)) break;
      idle.pop_back();
      ++result.submitted;
      queued = true;
    }
    if (queued) ring.flush();
  };
  while (!window.stopping() || ring.outstanding() != 0) {
    const bool stopping = window.update();
    const bool recording = window.recording();
    send();
    std::chrono::nanoseconds limit = std::chrono::milliseconds(1);
    if (open_loop && !idle.empty() && !stopping) {
      const double until = (next_send - static_cast<double>(CheapClock::ticks())) * ns_per_tick;
      limit = std::chrono::nanoseconds(static_cast<std::int64_t>(std::clamp(until, 0.0, 1e6)));
    }
    ring.reap(mechanism, limit, [&](std::size_t slot, std::uint64_t start_ticks, int res) {
      ++result.notified;
      if (res < 0) ++result.errors;
      if (recording) {
        const std::uint64_t now_ticks = CheapClock::ticks();
        result.resume_ns.record(
            now_ticks > start_ticks
                ? static_cast<std::uint64_t>(static_cast<double>(now_ticks - start_ticks) *
                                             ns_per_tick)
                : 0);
        ++result.completions;
      }
      idle.push_back(slot);
    });
  }
  window.finish();
  result.lost = result.submitted - result.notified;
  return result;
}

#else

RunResult run_native_uring(Mechanism, const WorkloadOptions&, const std::atomic<bool>&) {
  throw std::runtime_error("this pollnotify-bench was built without liburing");
}

#endif

}  // namespace pn::bench
