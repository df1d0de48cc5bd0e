// pollnotify-bench's --device values: which completion source a run uses.
//   MODEL or sim:MODEL        the simulated device with a latency model (zero, fixed:NS, ...)
//   uring:nop                 io_uring NOP requests
//   uring:read:PATH           io_uring reads of 4 KiB blocks of PATH, spread over the file
//   uring:echo                64 bytes sent over loopback TCP and the echo received through
//                             io_uring (loopback_echo.hpp)
//   uring-sqpoll:nop, uring-sqpoll:read:PATH   the same with an SQPOLL kernel thread
//   cryptodev:VDEV:sha256:SIZE, cryptodev:VDEV:aes-gcm:SIZE   DPDK cryptodev SHA-256 or
//                             AES-128-GCM encryption of SIZE bytes (0..65535) on the vdev
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pn::bench {

struct DeviceSpec {
  enum class Kind : std::uint8_t { kSim, kUring, kCryptodev };
  Kind kind = Kind::kSim;
  std::string model = "zero";  // kSim: the latency model
  bool sqpoll = false;         // kUring
  std::string read_path;       // kUring: empty for NOP and echo
  bool echo = false;           // kUring: the loopback echo
  std::string vdev;            // kCryptodev: e.g. crypto_aesni_mb
  bool aes_gcm = false;        // kCryptodev: AES-128-GCM encryption, else SHA-256
  std::uint32_t size = 0;      // kCryptodev: bytes per request
  static constexpr unsigned kReadSize = 4096;
  static constexpr std::uint32_t kMaxCryptoSize = 65535;  // one mbuf: every driver handles it
};

// Parses and checks a spec (the model, io_uring's availability, the file's readability and
// size). Returns an error message, or nullopt with `out` set.
std::optional<std::string> parse_device_spec(const std::string& text, DeviceSpec& out);

// True when this build has the io_uring device, the cryptodev device.
bool uring_built() noexcept;
bool cryptodev_built() noexcept;

}  // namespace pn::bench
