// Strict command-line numbers for pollnotify's tools: the whole text must be the number, inside
// the stated range, or the caller gets a message that names the option, the range and the text.
#pragma once

#include <getopt.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace pn::tools {

// Flushes standard output (the C++ stream and C's buffer): false, with a line on standard error
// naming the tool, when what was printed could not be written (a full disk, /dev/full).
inline bool flush_stdout(const char* tool) {
  std::cout.flush();
  errno = 0;
  const bool written = std::cout.good() && std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
  if (!written) {
    const int error = errno;
    std::fprintf(stderr, "%s: cannot write standard output%s%s\n", tool, error != 0 ? ": " : "",
                 error != 0 ? std::strerror(error) : "");
  }
  return written;
}

struct CliError {
  std::string message;
};

// A whole number in [low, high]: digits only (no sign, no spaces, no suffix).
inline std::optional<CliError> parse_whole(std::string_view option, std::string_view text,
                                           std::uint64_t low, std::uint64_t high,
                                           std::uint64_t& out) {
  std::uint64_t value = 0;
  const bool digits = !text.empty() && std::isdigit(static_cast<unsigned char>(text[0]));
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!digits || error != std::errc() || end != text.data() + text.size() || value < low ||
      value > high) {
    std::ostringstream message;
    message << option << " wants a whole number in [" << low << ", " << high << "], got '" << text
            << "'";
    return CliError{message.str()};
  }
  out = value;
  return std::nullopt;
}

// A finite real number in [low, high].
inline std::optional<CliError> parse_real(std::string_view option, std::string_view text,
                                          double low, double high, double& out) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value) || value < low || value > high) {
    std::ostringstream message;
    message << option << " wants a number in [" << low << ", " << high << "], got '" << text << "'";
    return CliError{message.str()};
  }
  out = value;
  return std::nullopt;
}

enum class Parsed { kRun, kHelp, kError };

// getopt_long over argv with `table` (every entry's flag null; `help` maps to 'h'), so that
// --name=VALUE and --name VALUE both work. Calls apply(name, value) for each option (value null
// for options without one); apply returns an error to stop. Arguments that are not options are
// appended to `positional`. Messages name the option and the bad value.
template <class Apply>
Parsed parse_long_options(int argc, char** argv, const option* table, Apply&& apply,
                          std::vector<std::string>& positional, std::string& message) {
  ::opterr = 0;  // our own messages, which name the option
  ::optind = 0;  // 0, not 1: glibc fully re-initialises, so a second parse in one process works
  int index = 0;
  for (int code; (code = ::getopt_long(argc, argv, "-:", table, &index)) != -1;) {
    if (code == 'h') return Parsed::kHelp;
    if (code == 1) {  // "-" in optstring: a non-option argument, in order
      positional.emplace_back(::optarg);
      continue;
    }
    if (code == '?' || code == ':') {
      const std::string given = argv[::optind - 1];
      message =
          code == ':' ? "option " + given + " needs a value" : "unknown option '" + given + "'";
      return Parsed::kError;
    }
    if (const std::optional<CliError> error = apply(std::string(table[index].name), ::optarg)) {
      message = error->message;
      return Parsed::kError;
    }
  }
  return Parsed::kRun;
}

}  // namespace pn::tools
