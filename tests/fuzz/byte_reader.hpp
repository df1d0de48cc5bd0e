// Turns a fuzzer input into small integers; reads past the end return 0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pn::test {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const noexcept { return position_ >= size_; }
  std::uint8_t next() noexcept { return position_ < size_ ? data_[position_++] : 0; }
  unsigned below(unsigned bound) noexcept { return bound == 0 ? 0 : next() % bound; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

[[noreturn]] inline void mismatch(const char* what, long expected, long actual) {
  __builtin_printf("MISMATCH %s: expected %ld, got %ld\n", what, expected, actual);
  __builtin_trap();
}

}  // namespace pn::test
