// libFuzzer harness: random sequences of wait-context operations, run inside a job against
// OpenSSL's libcrypto and pollnotify, and against a reference model of OpenSSL's semantics
// (crypto/async/async_wait.c); every returned and written value is compared. Inputs the OpenSSL
// side cannot take (NULL pointers, out-of-range status) are compared against the model only.
#include <cstdint>
#include <vector>

#include "byte_reader.hpp"
#include "openssl_api.hpp"

namespace {

using pn::test::ByteReader;
using pn::test::mismatch;

const int kKeys[4] = {0, 0, 0, 0};
int callback_a(void*) { return 1; }
int callback_b(void*) { return 2; }
int (*const kCallbacks[3])(void*) = {nullptr, callback_a, callback_b};

enum class OpKind : std::uint8_t {
  kSetFd,
  kGetFd,
  kAllFds,
  kChanged,
  kClear,
  kSetCallback,
  kGetCallback,
  kSetStatus,
  kGetStatus,
  kResume,
  kCount
};
struct Op {
  OpKind kind;
  unsigned key;
  int value;
  bool flag;
};

std::vector<Op> parse(ByteReader& in) {
  std::vector<Op> ops;
  while (!in.empty() && ops.size() < 256) {
    Op op{static_cast<OpKind>(in.below(static_cast<unsigned>(OpKind::kCount))), in.below(4),
          static_cast<int>(in.next()), (in.next() & 1) != 0};
    ops.push_back(op);
  }
  return ops;
}

// The reference model: OpenSSL's list of fd entries, newest first.
struct Model {
  struct Entry {
    unsigned key;
    int fd;
    long data;
    bool cleanup, add, del;
  };
  std::vector<Entry> entries;
  long added = 0, deleted = 0;
  int status = 0, callback = 0;
  long arg = 0;
};

using Log = std::vector<long>;

void model_run(const std::vector<Op>& ops, Log& log) {
  Model m;
  for (std::size_t step = 0; step < ops.size(); ++step) {
    const Op& op = ops[step];
    switch (op.kind) {
      case OpKind::kSetFd:
        m.entries.insert(m.entries.begin(),
                         {op.key, op.value, static_cast<long>(step + 1), op.flag, true, false});
        ++m.added;
        log.push_back(1);
        break;
      case OpKind::kGetFd: {
        long result = 0, fd = -9, data = 0;
        for (const auto& e : m.entries) {
          if (!e.del && e.key == op.key) {
            result = 1, fd = e.fd, data = e.data;
            break;
          }
        }
        log.insert(log.end(), {result, fd, data});
        break;
      }
      case OpKind::kAllFds: {
        log.push_back(1);
        long count = 0;
        for (const auto& e : m.entries) count += !e.del;
        log.push_back(count);
        for (const auto& e : m.entries) {
          if (!e.del) log.push_back(e.fd);
        }
        break;
      }
      case OpKind::kChanged:
        log.insert(log.end(), {1, m.added, m.deleted});
        for (const auto& e : m.entries) {
          if (e.add && !e.del) log.push_back(e.fd);
        }
        for (const auto& e : m.entries) {
          if (e.del && !e.add) log.push_back(e.fd);
        }
        break;
      case OpKind::kClear: {
        long result = 0;
        for (auto it = m.entries.begin(); it != m.entries.end(); ++it) {
          if (it->del || it->key != op.key) continue;
          if (it->add) {
            m.entries.erase(it);
            --m.added;
          } else {
            it->del = true;
            ++m.deleted;
          }
          result = 1;
          break;
        }
        log.push_back(result);
        break;
      }
      case OpKind::kSetCallback:
        m.callback = op.value % 3;
        m.arg = op.key;
        log.push_back(1);
        break;
      case OpKind::kGetCallback:
        log.push_back(m.callback != 0);
        log.push_back(m.callback != 0 ? m.callback : -1);
        log.push_back(m.callback != 0 ? m.arg : -1);
        break;
      case OpKind::kSetStatus:
        m.status = op.value % 4;
        log.push_back(1);
        break;
      case OpKind::kGetStatus:
        log.push_back(m.status);
        break;
      case OpKind::kResume:
        m.added = m.deleted = 0;
        std::erase_if(m.entries, [](const Model::Entry& e) { return e.del; });
        for (auto& e : m.entries) e.add = false;
        break;
      case OpKind::kCount:
        break;
    }
  }
  for (const auto& e : m.entries) {  // free: cleanups of live entries, newest first
    if (!e.del && e.cleanup) log.insert(log.end(), {2000 + static_cast<long>(e.key), e.fd, e.data});
  }
}

template <class Api>
struct Run {
  const std::vector<Op>* ops;
  typename Api::Ctx* ctx;
  Log* log;
  static inline Log* cleanup_log = nullptr;

  static void cleanup(typename Api::Ctx*, const void* key, typename Api::Fd fd, void* data) {
    cleanup_log->insert(cleanup_log->end(),
                        {2000 + static_cast<long>(static_cast<const int*>(key) - kKeys), fd,
                         static_cast<long>(reinterpret_cast<std::intptr_t>(data))});
  }

  static int body(void* raw) {
    const Run& run = **static_cast<Run**>(raw);
    Log& log = *run.log;
    auto* ctx = run.ctx;
    for (std::size_t step = 0; step < run.ops->size(); ++step) {
      const Op& op = (*run.ops)[step];
      switch (op.kind) {
        case OpKind::kSetFd:
          log.push_back(
              Api::set_wait_fd(ctx, &kKeys[op.key], op.value,
                               reinterpret_cast<void*>(static_cast<std::intptr_t>(step + 1)),
                               op.flag ? &Run::cleanup : nullptr));
          break;
        case OpKind::kGetFd: {
          typename Api::Fd fd = -9;
          void* data = nullptr;
          log.push_back(Api::get_fd(ctx, &kKeys[op.key], &fd, &data));
          log.push_back(fd);
          log.push_back(static_cast<long>(reinterpret_cast<std::intptr_t>(data)));
          break;
        }
        case OpKind::kAllFds: {
          size_t count = 0;
          log.push_back(Api::get_all_fds(ctx, nullptr, &count));
          std::vector<typename Api::Fd> fds(count + 1);
          (void)Api::get_all_fds(ctx, fds.data(), &count);
          log.push_back(static_cast<long>(count));
          for (size_t i = 0; i < count; ++i) log.push_back(fds[i]);
          break;
        }
        case OpKind::kChanged: {
          size_t added = 0, deleted = 0;
          log.push_back(Api::get_changed_fds(ctx, nullptr, &added, nullptr, &deleted));
          std::vector<typename Api::Fd> add(added + 1), del(deleted + 1);
          (void)Api::get_changed_fds(ctx, add.data(), &added, del.data(), &deleted);
          log.push_back(static_cast<long>(added));
          log.push_back(static_cast<long>(deleted));
          for (size_t i = 0; i < added; ++i) log.push_back(add[i]);
          for (size_t i = 0; i < deleted; ++i) log.push_back(del[i]);
          break;
        }
        case OpKind::kClear:
          log.push_back(Api::clear_fd(ctx, &kKeys[op.key]));
          break;
        case OpKind::kSetCallback:
          log.push_back(
              Api::set_callback(ctx, kCallbacks[op.value % 3],
                                reinterpret_cast<void*>(static_cast<std::intptr_t>(op.key))));
          break;
        case OpKind::kGetCallback: {
          int (*fn)(void*) = nullptr;
          void* arg = reinterpret_cast<void*>(-1L);
          const int result = Api::get_callback(ctx, &fn, &arg);
          log.push_back(result);
          log.push_back(result ? (fn == callback_a ? 1 : 2) : -1);
          log.push_back(result ? static_cast<long>(reinterpret_cast<std::intptr_t>(arg)) : -1);
          break;
        }
        case OpKind::kSetStatus:
          log.push_back(Api::set_status(ctx, op.value % 4));
          break;
        case OpKind::kGetStatus:
          log.push_back(Api::get_status(ctx));
          break;
        case OpKind::kResume:
          Api::pause_job();  // the driver resumes at once: OpenSSL resets the change counts
          break;
        case OpKind::kCount:
          break;
      }
    }
    return 0;
  }

  static Log execute(const std::vector<Op>& ops) {
    Log log;
    cleanup_log = &log;
    Run run{&ops, Api::ctx_new(), &log};
    Run* self = &run;
    typename Api::Job* job = nullptr;
    int ret = 0;
    while (Api::start_job(&job, run.ctx, &ret, &Run::body, &self, sizeof self) == Api::kPause) {
    }
    Api::ctx_free(run.ctx);
    return log;
  }
};

void compare(const Log& expected, const Log& actual, const char* who) {
  if (expected.size() != actual.size())
    mismatch(who, static_cast<long>(expected.size()), static_cast<long>(actual.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != actual[i]) mismatch(who, expected[i], actual[i]);
  }
}

// Bad input OpenSSL would crash on: pollnotify must answer 0 and keep its state.
void check_bad_input(ByteReader& in) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  PN_ASYNC_FD fd = 0;
  void* data = nullptr;
  size_t count = 0;
  PN_ASYNC_callback_fn fn = nullptr;
  if (PN_ASYNC_WAIT_CTX_get_fd(ctx, &kKeys[0], nullptr, &data) != 0)
    mismatch("get_fd NULL fd", 0, 1);
  if (PN_ASYNC_WAIT_CTX_get_fd(nullptr, &kKeys[0], &fd, &data) != 0)
    mismatch("get_fd NULL ctx", 0, 1);
  if (PN_ASYNC_WAIT_CTX_get_all_fds(ctx, nullptr, nullptr) != 0)
    mismatch("get_all_fds NULL count", 0, 1);
  if (PN_ASYNC_WAIT_CTX_get_changed_fds(ctx, nullptr, nullptr, nullptr, &count) != 0)
    mismatch("changed NULL", 0, 1);
  if (PN_ASYNC_WAIT_CTX_get_callback(ctx, &fn, nullptr) != 0)
    mismatch("get_callback NULL arg", 0, 1);
  const int status = static_cast<int>(in.next()) - 128;
  const int expected = status >= 0 && status <= 3 ? 1 : 0;
  if (PN_ASYNC_WAIT_CTX_set_status(ctx, status) != expected)
    mismatch("set_status range", expected, 1 - expected);
  if (PN_ASYNC_WAIT_CTX_get_status(ctx) != (expected ? status : 0))
    mismatch("status kept", 0, PN_ASYNC_WAIT_CTX_get_status(ctx));
  PN_ASYNC_WAIT_CTX_free(ctx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  check_bad_input(in);
  const std::vector<Op> ops = parse(in);
  Log expected;
  model_run(ops, expected);
  compare(expected, Run<pn::test::Openssl>::execute(ops), "model vs OpenSSL");
  compare(expected, Run<pn::test::Pollnotify>::execute(ops), "model vs pollnotify");
  return 0;
}
