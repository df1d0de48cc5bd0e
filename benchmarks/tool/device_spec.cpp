#include "device_spec.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "pollnotify/sim_device.hpp"
#ifdef PN_BENCH_WITH_URING
#include "pollnotify/uring_device.hpp"
#endif

namespace pn::bench {

bool uring_built() noexcept {
#ifdef PN_BENCH_WITH_URING
  return true;
#else
  return false;
#endif
}

namespace {

std::optional<std::string> check_readable_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open '" + path + "': " + std::strerror(errno);
  struct stat info {};
  const bool ok = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) &&
                  info.st_size >= static_cast<off_t>(DeviceSpec::kReadSize);
  ::close(fd);
  if (!ok) {
    return "'" + path + "' must be a regular file of at least " +
           std::to_string(DeviceSpec::kReadSize) + " bytes";
  }
  return std::nullopt;
}

std::optional<std::string> parse_uring(const std::string& rest, bool sqpoll, DeviceSpec& out) {
  if (!uring_built()) return std::string("this pollnotify-bench was built without liburing");
#ifdef PN_BENCH_WITH_URING
  if (const std::string reason = UringDevice::unavailable_reason(); !reason.empty()) {
    return "io_uring is unavailable here: " + reason;
  }
#endif
  out.kind = DeviceSpec::Kind::kUring;
  out.sqpoll = sqpoll;
  if (rest == "nop") return std::nullopt;
  if (rest.rfind("read:", 0) == 0) {
    out.read_path = rest.substr(5);
    return check_readable_file(out.read_path);
  }
  return "unknown io_uring operation '" + rest + "' (nop or read:PATH)";
}

}  // namespace

std::optional<std::string> parse_device_spec(const std::string& text, DeviceSpec& out) {
  out = DeviceSpec{};
  if (text.rfind("uring:", 0) == 0) return parse_uring(text.substr(6), false, out);
  if (text.rfind("uring-sqpoll:", 0) == 0) return parse_uring(text.substr(13), true, out);
  out.model = text.rfind("sim:", 0) == 0 ? text.substr(4) : text;
  try {
    (void)LatencyModel::parse(out.model);
  } catch (const std::exception& bad) {  // invalid_argument, or a trace file's I/O error
    return std::string(bad.what());
  }
  return std::nullopt;
}

}  // namespace pn::bench
