// The async API of OpenSSL's libcrypto and of pollnotify behind one static interface, so that a
// scenario written once runs against both (differential tests and fuzzers).
#pragma once

#include <openssl/async.h>

#include <cstddef>

#include "pollnotify/async_job.h"
#include "pollnotify/async_wait.h"

namespace pn::test {

struct Openssl {
  using Ctx = ASYNC_WAIT_CTX;
  using Job = ASYNC_JOB;
  using Fd = OSSL_ASYNC_FD;
  using Cleanup = void (*)(Ctx*, const void*, Fd, void*);
  static constexpr int kErr = ASYNC_ERR, kNoJobs = ASYNC_NO_JOBS, kPause = ASYNC_PAUSE,
                       kFinish = ASYNC_FINISH;
  static Ctx* ctx_new() { return ASYNC_WAIT_CTX_new(); }
  static void ctx_free(Ctx* c) { ASYNC_WAIT_CTX_free(c); }
  static int set_wait_fd(Ctx* c, const void* k, Fd fd, void* d, Cleanup cl) {
    return ASYNC_WAIT_CTX_set_wait_fd(c, k, fd, d, cl);
  }
  static int get_fd(Ctx* c, const void* k, Fd* fd, void** d) {
    return ASYNC_WAIT_CTX_get_fd(c, k, fd, d);
  }
  static int get_all_fds(Ctx* c, Fd* fd, size_t* n) { return ASYNC_WAIT_CTX_get_all_fds(c, fd, n); }
  static int get_changed_fds(Ctx* c, Fd* a, size_t* na, Fd* d, size_t* nd) {
    return ASYNC_WAIT_CTX_get_changed_fds(c, a, na, d, nd);
  }
  static int clear_fd(Ctx* c, const void* k) { return ASYNC_WAIT_CTX_clear_fd(c, k); }
  static int set_callback(Ctx* c, int (*f)(void*), void* a) {
    return ASYNC_WAIT_CTX_set_callback(c, f, a);
  }
  static int get_callback(Ctx* c, int (**f)(void*), void** a) {
    return ASYNC_WAIT_CTX_get_callback(c, f, a);
  }
  static int set_status(Ctx* c, int s) { return ASYNC_WAIT_CTX_set_status(c, s); }
  static int get_status(Ctx* c) { return ASYNC_WAIT_CTX_get_status(c); }
  static int init_thread(size_t m, size_t i) { return ASYNC_init_thread(m, i); }
  static void cleanup_thread() { ASYNC_cleanup_thread(); }
  static int start_job(Job** j, Ctx* c, int* r, int (*f)(void*), void* a, size_t s) {
    return ASYNC_start_job(j, c, r, f, a, s);
  }
  static int pause_job() { return ASYNC_pause_job(); }
  static Job* current_job() { return ASYNC_get_current_job(); }
  static Ctx* job_wait_ctx(Job* j) { return ASYNC_get_wait_ctx(j); }
  static void block_pause() { ASYNC_block_pause(); }
  static void unblock_pause() { ASYNC_unblock_pause(); }
  static int is_capable() { return ASYNC_is_capable(); }
};

struct Pollnotify {
  using Ctx = PN_ASYNC_WAIT_CTX;
  using Job = PN_ASYNC_JOB;
  using Fd = PN_ASYNC_FD;
  using Cleanup = PN_ASYNC_fd_cleanup_fn;
  static constexpr int kErr = PN_ASYNC_ERR, kNoJobs = PN_ASYNC_NO_JOBS, kPause = PN_ASYNC_PAUSE,
                       kFinish = PN_ASYNC_FINISH;
  static Ctx* ctx_new() { return PN_ASYNC_WAIT_CTX_new(); }
  static void ctx_free(Ctx* c) { PN_ASYNC_WAIT_CTX_free(c); }
  static int set_wait_fd(Ctx* c, const void* k, Fd fd, void* d, Cleanup cl) {
    return PN_ASYNC_WAIT_CTX_set_wait_fd(c, k, fd, d, cl);
  }
  static int get_fd(Ctx* c, const void* k, Fd* fd, void** d) {
    return PN_ASYNC_WAIT_CTX_get_fd(c, k, fd, d);
  }
  static int get_all_fds(Ctx* c, Fd* fd, size_t* n) {
    return PN_ASYNC_WAIT_CTX_get_all_fds(c, fd, n);
  }
  static int get_changed_fds(Ctx* c, Fd* a, size_t* na, Fd* d, size_t* nd) {
    return PN_ASYNC_WAIT_CTX_get_changed_fds(c, a, na, d, nd);
  }
  static int clear_fd(Ctx* c, const void* k) { return PN_ASYNC_WAIT_CTX_clear_fd(c, k); }
  static int set_callback(Ctx* c, int (*f)(void*), void* a) {
    return PN_ASYNC_WAIT_CTX_set_callback(c, f, a);
  }
  static int get_callback(Ctx* c, int (**f)(void*), void** a) {
    return PN_ASYNC_WAIT_CTX_get_callback(c, f, a);
  }
  static int set_status(Ctx* c, int s) { return PN_ASYNC_WAIT_CTX_set_status(c, s); }
  static int get_status(Ctx* c) { return PN_ASYNC_WAIT_CTX_get_status(c); }
  static int init_thread(size_t m, size_t i) { return PN_ASYNC_init_thread(m, i); }
  static void cleanup_thread() { PN_ASYNC_cleanup_thread(); }
  static int start_job(Job** j, Ctx* c, int* r, int (*f)(void*), void* a, size_t s) {
    return PN_ASYNC_start_job(j, c, r, f, a, s);
  }
  static int pause_job() { return PN_ASYNC_pause_job(); }
  static Job* current_job() { return PN_ASYNC_get_current_job(); }
  static Ctx* job_wait_ctx(Job* j) { return PN_ASYNC_get_wait_ctx(j); }
  static void block_pause() { PN_ASYNC_block_pause(); }
  static void unblock_pause() { PN_ASYNC_unblock_pause(); }
  static int is_capable() { return PN_ASYNC_is_capable(); }
};

}  // namespace pn::test
