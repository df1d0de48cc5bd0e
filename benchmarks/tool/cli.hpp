// Strict command-line numbers for pollnotify's tools: the whole text must be the number, inside
// the stated range, or the caller gets a message that names the option, the range and the text.
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace pn::tools {

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

}  // namespace pn::tools
