// pollnotify-bench's --device values: which completion source a run uses.
//   MODEL or sim:MODEL        the simulated device with a latency model (zero, fixed:NS, ...)
//   uring:nop                 io_uring NOP requests
//   uring:read:PATH           io_uring reads of 4 KiB blocks of PATH, spread over the file
//   uring-sqpoll:nop, uring-sqpoll:read:PATH   the same with an SQPOLL kernel thread
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pn::bench {

struct DeviceSpec {
  enum class Kind : std::uint8_t { kSim, kUring };
  Kind kind = Kind::kSim;
  std::string model = "zero";  // kSim: the latency model
  bool sqpoll = false;         // kUring
  std::string read_path;       // kUring: empty for NOP
  static constexpr unsigned kReadSize = 4096;
};

// Parses and checks a spec (the model, io_uring's availability, the file's readability and
// size). Returns an error message, or nullopt with `out` set.
std::optional<std::string> parse_device_spec(const std::string& text, DeviceSpec& out);

// True when this build has the io_uring device.
bool uring_built() noexcept;

}  // namespace pn::bench
