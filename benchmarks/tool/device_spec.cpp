#include "device_spec.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "pollnotify/sim_device.hpp"
#ifdef PN_BENCH_WITH_URING
#include "pollnotify/uring_device.hpp"
#endif

namespace pn::bench {

bool cryptodev_built() noexcept {
#ifdef PN_BENCH_WITH_CRYPTODEV
  return true;
#else
  return false;
#endif
}

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
  if (rest == "echo") {
    out.echo = true;
    return std::nullopt;
  }
  if (rest.rfind("read:", 0) == 0) {
    out.read_path = rest.substr(5);
    return check_readable_file(out.read_path);
  }
  return "unknown io_uring operation '" + rest + "' (nop, read:PATH or echo)";
}

// VDEV:ALGO:SIZE
std::optional<std::string> parse_cryptodev(const std::string& rest, DeviceSpec& out) {
  if (!cryptodev_built()) return std::string("this pollnotify-bench was built without libdpdk");
  const std::size_t first = rest.find(':');
  const std::size_t second = first == std::string::npos ? first : rest.find(':', first + 1);
  if (second == std::string::npos) return std::string("wants cryptodev:VDEV:sha256|aes-gcm:SIZE");
  out.kind = DeviceSpec::Kind::kCryptodev;
  out.vdev = rest.substr(0, first);
  const std::string algorithm = rest.substr(first + 1, second - first - 1);
  const std::string size = rest.substr(second + 1);
  if (out.vdev.rfind("crypto_", 0) != 0) return "'" + out.vdev + "' is not a crypto vdev name";
  if (algorithm != "sha256" && algorithm != "aes-gcm") {
    return "unknown algorithm '" + algorithm + "' (sha256 or aes-gcm)";
  }
  out.aes_gcm = algorithm == "aes-gcm";
  std::uint32_t bytes = 0;
  const auto [end, error] = std::from_chars(size.data(), size.data() + size.size(), bytes);
  if (size.empty() || error != std::errc() || end != size.data() + size.size() ||
      bytes > DeviceSpec::kMaxCryptoSize) {
    return "size '" + size + "' is not a whole number in [0, 65535]";
  }
  out.size = bytes;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_device_spec(const std::string& text, DeviceSpec& out) {
  out = DeviceSpec{};
  if (text.rfind("uring:", 0) == 0) return parse_uring(text.substr(6), false, out);
  if (text.rfind("uring-sqpoll:", 0) == 0) return parse_uring(text.substr(13), true, out);
  if (text.rfind("cryptodev:", 0) == 0) return parse_cryptodev(text.substr(10), out);
  out.model = text.rfind("sim:", 0) == 0 ? text.substr(4) : text;
  try {
    (void)LatencyModel::parse(out.model);
  } catch (const std::exception& bad) {  // invalid_argument, or a trace file's I/O error
    return std::string(bad.what());
  }
  return std::nullopt;
}

}  // namespace pn::bench
