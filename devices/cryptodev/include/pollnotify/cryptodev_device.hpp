// pollnotify's DPDK cryptodev device: AES-128-GCM, SHA-256 and RSA private-key operations with
// PKCS#1 v1.5 padding on a DPDK crypto poll-mode driver (the software PMDs crypto_aesni_mb and
// crypto_openssl anywhere, crypto_qat on a QAT machine; each offers what its capabilities say:
// supports()), completed by a poller that dequeues the queue pair in bursts.
//
// How it runs:
//   cryptodev_eal_init()   once per process: DPDK's EAL with the given arguments and vdevs, or
//                          attached to an EAL the application initialised itself.
//   submit_*(ctx, ...)     any thread, never blocks: checks the limits and the thread's credits,
//                          arms the context and queues the request in the thread's own
//                          submission channel (64 at once; further threads share a queue).
//   poll (poller)          the queue pair's one producer and one consumer: takes queued
//                          requests, copies their input into mbufs from the device's pools,
//                          enqueues a burst; dequeues a burst, copies the output back (the
//                          ciphertext or plaintext, the tag, the digest, the RSA output) and
//                          pushes one completion each: status OK with result = bytes processed
//                          (RSA: bytes written), or ERR with result = -EBADMSG (a GCM tag that
//                          does not verify) or -EIO.
//                          Every DPDK call runs on the poller thread.
//   teardown               the destructor stops the bound poller if it still runs, takes back
//                          every op the driver holds and delivers each request not yet delivered
//                          with ERR; a context destroyed meanwhile drops its completion (stale).
//                          Bounded: what the driver still holds 10 s later is left to it, with
//                          the device's pools, sessions and queue pair (never freed under the
//                          driver; a line on stderr says how many), and those requests get no
//                          completion (the driver may still use their buffers).
// The caller's buffers (input, output, IV, AAD, tag, digest) must stay valid until the completion
// is delivered, even if the context is destroyed first.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pollnotify/device.hpp"
#include "pollnotify/poller.hpp"

namespace pn {

class CryptodevDevice;
namespace internal {
// Tests: a driver that refuses, or is slow, and a teardown deadline.
struct CryptodevFaults {
  unsigned refuse_enqueues = 0;                  // the next enqueue calls take nothing
  std::chrono::nanoseconds hold_completions{0};  // nothing dequeues until this after an enqueue
  std::chrono::nanoseconds teardown_limit{std::chrono::seconds(10)};
};
// Before the poller starts.
void set_cryptodev_faults(CryptodevDevice& device, const CryptodevFaults& faults);
// Requests teardowns left to their driver at the deadline, in this process.
[[nodiscard]] std::uint64_t cryptodev_requests_left_to_drivers() noexcept;
}  // namespace internal

struct CryptodevEalOptions {
  // DPDK EAL arguments. --no-huge runs without hugepages; it implies DPDK's legacy memory mode,
  // which refuses --in-memory, so --no-shconf stands in for it (no shared config files). -m 256:
  // each device's mbufs take about 18 MB at the default max_in_flight.
  std::vector<std::string> args{"--no-huge", "--no-pci", "--no-shconf",
                                "-m",        "256",      "--log-level=error"};
  std::vector<std::string> vdevs{"crypto_aesni_mb"};  // each becomes --vdev NAME
};

// Initialises DPDK's EAL once per process, mapping its main lcore to every CPU this process may
// use (so the calling thread keeps its affinity). If the application initialised EAL already,
// attaches to it. Returns "" on success, else why not; later calls return the first outcome.
std::string cryptodev_eal_init(const CryptodevEalOptions& options = {});

// RSA is the private-key half with PKCS#1 v1.5 padding (block type 1 to sign, type 2 to decrypt),
// what DPDK 22.11's RSA xform offers on every driver that has it; the caller builds a signature's
// DigestInfo. Public-key operations are cheap and stay with the caller.
enum class CryptoOpKind : std::uint8_t {
  kAesGcmEncrypt,
  kAesGcmDecrypt,
  kSha256,
  kRsaSignPkcs1,
  kRsaDecryptPkcs1
};

// An RSA private key as big-endian unsigned integers (what BN_bn2bin writes): the modulus, the
// public exponent and the CRT quintuple; `d` for a driver that takes only the exponent form.
struct RsaPrivateKey {
  std::span<const std::uint8_t> n, e, d, p, q, dp, dq, qinv;
};

struct CryptodevOptions {
  std::string device = "crypto_aesni_mb";  // a cryptodev by name: a vdev, or a PCI PMD's device
  unsigned queue_pairs = 1;  // the cryptodev is configured with this many (first device on it)
  unsigned queue_pair = 0;  // this device's queue pair, < queue_pairs; one device (and poller) each
  unsigned descriptors = 512;  // per queue pair
  // Per submitting thread: its requests accepted and not yet completed by the driver (past it
  // EAGAIN), 1..4096. The driver holds at most this many at once; the rest wait in channels.
  unsigned max_in_flight = 256;
  // What the generic Device::submit(ctx, user_data) does (benchmarks): this operation on
  // default_size bytes of a device-owned buffer, with a device-owned key (SHA-256 or AES-GCM;
  // an RSA kind is refused: std::invalid_argument).
  CryptoOpKind default_op = CryptoOpKind::kSha256;
  std::uint32_t default_size = 64;
};

class CryptodevDevice final : public Device {
 public:
  static constexpr std::uint32_t kMaxData = 65536;  // bytes per request
  static constexpr std::uint32_t kMaxAad = 256;
  static constexpr std::size_t kMaxSessions = 1024;
  static constexpr std::size_t kIvLength = 12, kTagLength = 16, kDigestLength = 32;
  static constexpr std::size_t kMaxRsaBytes = 512;  // RSA-4096
  static constexpr std::size_t kMaxRsaKeys = 64;

  // An AES-128-GCM key in one direction, on this device. Valid until the device is destroyed.
  class Session;
  class RsaKey;

  // Needs cryptodev_eal_init() first. Registers a poll source with `poller`, which must not have
  // started yet and must outlive the device. Throws std::invalid_argument for bad options and
  // std::runtime_error when DPDK refuses (the message names the step and the cause).
  CryptodevDevice(Poller& poller, const CryptodevOptions& options);
  ~CryptodevDevice() override;
  CryptodevDevice(const CryptodevDevice&) = delete;
  CryptodevDevice& operator=(const CryptodevDevice&) = delete;

  // Any thread. Throws std::runtime_error when the driver refuses the key, std::length_error with
  // kMaxSessions live, std::invalid_argument for aad_length above kMaxAad.
  const Session& aes_gcm_session(std::span<const std::uint8_t, 16> key, bool encrypt,
                                 std::uint32_t aad_length);
  // Gives a session back (its slot is reused). Any thread, once every request that used it has
  // been delivered; the session must not be used again.
  void release_session(const Session& session) noexcept;

  // AES-128-GCM of `length` bytes from `in` to `out` (may be the same buffer). Encrypt writes the
  // tag to `tag`; decrypt verifies it (ERR, result -EBADMSG, when it does not match). In place
  // (in == out, up to 65535 bytes) a software driver (one without RTE_CRYPTODEV_FF_HW_ACCELERATED)
  // works on the buffer itself, with no copy in or out; a failed request may then leave it changed.
  SubmitResult submit_aes_gcm(WaitCtx& ctx, const Session& session, const std::uint8_t* iv,
                              const std::uint8_t* aad, const std::uint8_t* in, std::uint8_t* out,
                              std::uint32_t length, std::uint8_t* tag,
                              std::uint64_t user_data) noexcept;
  // SHA-256 of `length` bytes into `digest` (32 bytes).
  SubmitResult submit_sha256(WaitCtx& ctx, const std::uint8_t* in, std::uint32_t length,
                             std::uint8_t* digest, std::uint64_t user_data) noexcept;
  // An RSA private key on this device (an asymmetric session). Any thread. Throws
  // std::invalid_argument when the driver has no RSA (supports()) or a part is empty or the modulus
  // is above kMaxRsaBytes, std::length_error with kMaxRsaKeys live, std::runtime_error when the
  // driver refuses the key. Valid until released or the device is destroyed.
  const RsaKey& rsa_key(const RsaPrivateKey& key);
  // Gives a key back. Any thread, once every request that used it has been delivered.
  void release_rsa_key(const RsaKey& key) noexcept;
  // Signs (kRsaSignPkcs1: `in` is the DigestInfo, or any message up to the modulus size less 11
  // bytes) or decrypts (kRsaDecryptPkcs1: `in` is modulus-sized ciphertext) with `key`. `out`
  // takes up to modulus-size bytes; the completion's result is how many were written.
  SubmitResult submit_rsa(WaitCtx& ctx, const RsaKey& key, CryptoOpKind op, const std::uint8_t* in,
                          std::uint32_t in_length, std::uint8_t* out,
                          std::uint64_t user_data) noexcept;
  // The default operation (CryptodevOptions::default_op).
  SubmitResult submit(WaitCtx& ctx, std::uint64_t user_data) noexcept override;

  [[nodiscard]] std::uint64_t capacity() const noexcept override;
  [[nodiscard]] std::uint64_t in_flight() const noexcept override;
  [[nodiscard]] DeviceStats stats() const noexcept override;
  [[nodiscard]] std::string_view name() const noexcept override;
  // Whether the driver offers the operation (from its capabilities; RSA: sign and decrypt with
  // a private key in CRT or exponent form).
  [[nodiscard]] bool supports(CryptoOpKind op) const noexcept;
  // Ops the driver refused for good with its queue pair empty (each completed with ERR).
  [[nodiscard]] std::uint64_t refused_by_driver() const noexcept;

  struct Impl;

 private:
  friend void internal::set_cryptodev_faults(CryptodevDevice& device,
                                             const internal::CryptodevFaults& faults);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pn
