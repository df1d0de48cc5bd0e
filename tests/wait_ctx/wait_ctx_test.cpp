// The wait context's C API, one named test per function and corner (OpenSSL 3 semantics).
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "pollnotify/async_wait.h"
#include "pollnotify/wait_ctx.hpp"

namespace {

struct CtxDeleter {
  void operator()(PN_ASYNC_WAIT_CTX* ctx) const { PN_ASYNC_WAIT_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<PN_ASYNC_WAIT_CTX, CtxDeleter>;
CtxPtr new_ctx() { return CtxPtr(PN_ASYNC_WAIT_CTX_new()); }

const int kKeyA = 0;
const int kKeyB = 0;
const void* const key_a = &kKeyA;
const void* const key_b = &kKeyB;

struct CleanupLog {
  std::vector<std::pair<const void*, PN_ASYNC_FD>> calls;
};
void record_cleanup(PN_ASYNC_WAIT_CTX*, const void* key, PN_ASYNC_FD fd, void* custom) {
  static_cast<CleanupLog*>(custom)->calls.emplace_back(key, fd);
}

int count_calls(void* arg) { return ++*static_cast<int*>(arg); }
int other_callback(void*) { return 0; }

std::vector<PN_ASYNC_FD> all_fds(PN_ASYNC_WAIT_CTX* ctx) {
  size_t count = 0;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_all_fds(ctx, nullptr, &count), 1);
  std::vector<PN_ASYNC_FD> fds(count);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_all_fds(ctx, fds.data(), &count), 1);
  EXPECT_EQ(count, fds.size());
  return fds;
}

struct Changes {
  std::vector<PN_ASYNC_FD> added, deleted;
};
Changes changed_fds(PN_ASYNC_WAIT_CTX* ctx) {
  size_t num_added = 0, num_deleted = 0;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(ctx, nullptr, &num_added, nullptr, &num_deleted), 1);
  Changes changes{std::vector<PN_ASYNC_FD>(num_added), std::vector<PN_ASYNC_FD>(num_deleted)};
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(ctx, changes.added.data(), &num_added,
                                              changes.deleted.data(), &num_deleted),
            1);
  return changes;
}

TEST(WaitCtxNew, StartsUnsupportedWithoutCallback) {
  auto ctx = new_ctx();
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_status(ctx.get()), PN_ASYNC_STATUS_UNSUPPORTED);
  PN_ASYNC_callback_fn fn = &other_callback;
  void* arg = &fn;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_callback(ctx.get(), &fn, &arg), 0);
  EXPECT_EQ(fn, &other_callback) << "outputs are untouched when no callback is set";
  EXPECT_EQ(all_fds(ctx.get()).size(), 0U);
}

TEST(WaitCtxFree, NullIsNoOp) {
  PN_ASYNC_WAIT_CTX_free(nullptr);
  SUCCEED();
}

// A second free of the same context is refused: it would list the context twice for reuse, and
// two later contexts would be one object.
TEST(WaitCtxFree, ASecondFreeIsRefusedAndNeverSharesAContext) {
  CleanupLog log;
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx, key_a, 10, &log, record_cleanup), 1);
  PN_ASYNC_WAIT_CTX_free(ctx);
  PN_ASYNC_WAIT_CTX_free(ctx);
  EXPECT_EQ(log.calls.size(), 1U) << "cleanup runs once";
  PN_ASYNC_WAIT_CTX* first = PN_ASYNC_WAIT_CTX_new();
  PN_ASYNC_WAIT_CTX* second = PN_ASYNC_WAIT_CTX_new();
  EXPECT_NE(first, second);
  PN_ASYNC_WAIT_CTX_free(first);
  PN_ASYNC_WAIT_CTX_free(second);
}

TEST(WaitCtxFree, RunsCleanupOfLiveEntriesNewestFirst) {
  CleanupLog log;
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx, key_a, 10, &log, record_cleanup), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx, key_b, 11, &log, record_cleanup), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx, key_a, 12, &log, nullptr), 1);
  PN_ASYNC_WAIT_CTX_free(ctx);
  ASSERT_EQ(log.calls.size(), 2U);
  EXPECT_EQ(log.calls[0], std::make_pair(key_b, 11));
  EXPECT_EQ(log.calls[1], std::make_pair(key_a, 10));
}

TEST(WaitCtxFree, SkipsEntriesMarkedDeleted) {
  CleanupLog log;
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx, key_a, 10, &log, record_cleanup), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_mark_resumed(ctx), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx, key_a), 1);
  PN_ASYNC_WAIT_CTX_free(ctx);
  EXPECT_TRUE(log.calls.empty());
}

TEST(WaitCtxSetWaitFd, NullContextFails) {
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(nullptr, key_a, 3, nullptr, nullptr), 0);
}

TEST(WaitCtxSetWaitFd, SameKeyAddsSecondEntryAndNewestWins) {
  auto ctx = new_ctx();
  int custom_old = 0, custom_new = 0;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, &custom_old, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 6, &custom_new, nullptr), 1);
  EXPECT_EQ(all_fds(ctx.get()), (std::vector<PN_ASYNC_FD>{6, 5}));
  PN_ASYNC_FD fd = PN_BAD_ASYNC_FD;
  void* custom = nullptr;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_get_fd(ctx.get(), key_a, &fd, &custom), 1);
  EXPECT_EQ(fd, 6);
  EXPECT_EQ(custom, &custom_new);
}

TEST(WaitCtxGetFd, UnknownKeyFails) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  PN_ASYNC_FD fd = 77;
  void* custom = nullptr;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_fd(ctx.get(), key_b, &fd, &custom), 0);
  EXPECT_EQ(fd, 77);
}

TEST(WaitCtxGetFd, NullArgumentsFail) {
  auto ctx = new_ctx();
  PN_ASYNC_FD fd;
  void* custom;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_fd(nullptr, key_a, &fd, &custom), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_fd(ctx.get(), key_a, nullptr, &custom), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_fd(ctx.get(), key_a, &fd, nullptr), 0);
}

TEST(WaitCtxGetFd, SkipsDeletedEntries) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_mark_resumed(ctx.get()), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 1);
  PN_ASYNC_FD fd;
  void* custom;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_fd(ctx.get(), key_a, &fd, &custom), 0);
}

TEST(WaitCtxGetAllFds, NullBufferCountsOnly) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_b, 6, nullptr, nullptr), 1);
  size_t count = 99;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_get_all_fds(ctx.get(), nullptr, &count), 1);
  EXPECT_EQ(count, 2U);
}

TEST(WaitCtxGetAllFds, NullContextOrCountFails) {
  auto ctx = new_ctx();
  size_t count = 0;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_all_fds(nullptr, nullptr, &count), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_all_fds(ctx.get(), nullptr, nullptr), 0);
}

TEST(WaitCtxGetAllFds, ListsLiveEntriesOnly) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_b, 6, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_mark_resumed(ctx.get()), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 1);
  EXPECT_EQ(all_fds(ctx.get()), (std::vector<PN_ASYNC_FD>{6}));
}

TEST(WaitCtxClearFd, EntryAddedSinceResumeIsRemovedOutright) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 1);
  const Changes changes = changed_fds(ctx.get());
  EXPECT_TRUE(changes.added.empty());
  EXPECT_TRUE(changes.deleted.empty());
  EXPECT_TRUE(all_fds(ctx.get()).empty());
}

TEST(WaitCtxClearFd, OlderEntryIsMarkedDeletedUntilResume) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_mark_resumed(ctx.get()), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 1);
  Changes changes = changed_fds(ctx.get());
  EXPECT_TRUE(changes.added.empty());
  EXPECT_EQ(changes.deleted, (std::vector<PN_ASYNC_FD>{5}));
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_mark_resumed(ctx.get()), 1);
  changes = changed_fds(ctx.get());
  EXPECT_TRUE(changes.deleted.empty());
}

TEST(WaitCtxClearFd, ClearsNewestEntryForKey) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 6, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 1);
  EXPECT_EQ(all_fds(ctx.get()), (std::vector<PN_ASYNC_FD>{5}));
}

TEST(WaitCtxClearFd, NeverRunsCleanup) {
  CleanupLog log;
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, &log, record_cleanup), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 1);
  ctx.reset();
  EXPECT_TRUE(log.calls.empty());
}

TEST(WaitCtxClearFd, UnknownKeyOrNullContextFails) {
  auto ctx = new_ctx();
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(nullptr, key_a), 0);
}

TEST(WaitCtxClearFd, AlreadyDeletedEntryIsNotClearedTwice) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_mark_resumed(ctx.get()), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 1);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_clear_fd(ctx.get(), key_a), 0);
}

TEST(WaitCtxGetChangedFds, ReportsAddsSinceCreation) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_b, 6, nullptr, nullptr), 1);
  const Changes changes = changed_fds(ctx.get());
  EXPECT_EQ(changes.added, (std::vector<PN_ASYNC_FD>{6, 5}));
  EXPECT_TRUE(changes.deleted.empty());
}

TEST(WaitCtxGetChangedFds, EitherArrayMayBeNull) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  size_t num_added = 0, num_deleted = 0;
  PN_ASYNC_FD added[1] = {0};
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(ctx.get(), added, &num_added, nullptr, &num_deleted),
            1);
  EXPECT_EQ(num_added, 1U);
  EXPECT_EQ(added[0], 5);
  EXPECT_EQ(num_deleted, 0U);
}

TEST(WaitCtxGetChangedFds, NullCountsFail) {
  auto ctx = new_ctx();
  size_t count = 0;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(ctx.get(), nullptr, nullptr, nullptr, &count), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(ctx.get(), nullptr, &count, nullptr, nullptr), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(nullptr, nullptr, &count, nullptr, &count), 0);
}

TEST(WaitCtxGetChangedFds, ResumeResetsCounts) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_wait_fd(ctx.get(), key_a, 5, nullptr, nullptr), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_mark_resumed(ctx.get()), 1);
  const Changes changes = changed_fds(ctx.get());
  EXPECT_TRUE(changes.added.empty());
  EXPECT_EQ(all_fds(ctx.get()), (std::vector<PN_ASYNC_FD>{5}));
}

TEST(WaitCtxCallback, SetAndGetReturnThePair) {
  auto ctx = new_ctx();
  int counter = 0;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_callback(ctx.get(), count_calls, &counter), 1);
  PN_ASYNC_callback_fn fn = nullptr;
  void* arg = nullptr;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_get_callback(ctx.get(), &fn, &arg), 1);
  EXPECT_EQ(fn, &count_calls);
  EXPECT_EQ(arg, &counter);
}

TEST(WaitCtxCallback, SetNullCallbackClearsIt) {
  auto ctx = new_ctx();
  int counter = 0;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_callback(ctx.get(), count_calls, &counter), 1);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_callback(ctx.get(), nullptr, &counter), 1);
  PN_ASYNC_callback_fn fn = nullptr;
  void* arg = nullptr;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_callback(ctx.get(), &fn, &arg), 0);
}

TEST(WaitCtxCallback, NullContextFails) {
  PN_ASYNC_callback_fn fn = nullptr;
  void* arg = nullptr;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_set_callback(nullptr, count_calls, nullptr), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_callback(nullptr, &fn, &arg), 0);
}

TEST(WaitCtxCallback, NullOutputPointersFail) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_callback(ctx.get(), count_calls, nullptr), 1);
  PN_ASYNC_callback_fn fn = nullptr;
  void* arg = nullptr;
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_callback(ctx.get(), nullptr, &arg), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_callback(ctx.get(), &fn, nullptr), 0);
}

TEST(WaitCtxStatus, SetAndGetEachValidValue) {
  auto ctx = new_ctx();
  for (int status : {PN_ASYNC_STATUS_ERR, PN_ASYNC_STATUS_OK, PN_ASYNC_STATUS_EAGAIN,
                     PN_ASYNC_STATUS_UNSUPPORTED}) {
    ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_status(ctx.get(), status), 1);
    EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_status(ctx.get()), status);
  }
}

TEST(WaitCtxStatus, OutOfRangeIsRejectedAndLeavesStatus) {
  auto ctx = new_ctx();
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_set_status(ctx.get(), PN_ASYNC_STATUS_OK), 1);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_set_status(ctx.get(), 4), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_set_status(ctx.get(), -1), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_status(ctx.get()), PN_ASYNC_STATUS_OK);
}

// ensure_status (devices, deliver) writes only a change; every delivery still leaves the
// completion's status, whatever the context held before.
TEST(WaitCtxStatus, EnsureStatusAndDeliveryLeaveTheCompletionsStatus) {
  auto ctx = pn::WaitCtx::make();
  ctx->ensure_status(pn::AsyncStatus::kEagain);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_EAGAIN);
  ctx->ensure_status(pn::AsyncStatus::kEagain);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_EAGAIN);
  ctx->ensure_status(pn::AsyncStatus::kOk);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_OK);
  for (const pn::AsyncStatus status :
       {pn::AsyncStatus::kOk, pn::AsyncStatus::kOk, pn::AsyncStatus::kErr, pn::AsyncStatus::kErr,
        pn::AsyncStatus::kOk}) {
    const pn::RequestTicket ticket = ctx->arm();
    EXPECT_EQ(ctx->deliver(ticket, status), pn::Delivery::kStatusOnly);
    EXPECT_EQ(ctx->status(), static_cast<int>(status));
  }
}

TEST(WaitCtxStatus, NullContext) {
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_set_status(nullptr, PN_ASYNC_STATUS_OK), 0);
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_get_status(nullptr), PN_ASYNC_STATUS_UNSUPPORTED);
}

TEST(WaitCtxMarkResumed, NullContextFails) {
  EXPECT_EQ(PN_ASYNC_WAIT_CTX_mark_resumed(nullptr), 0);
}

// --- C++ request lifetime: arm / deliver / cancel / destroy ---

TEST(WaitCtxDeliver, InvokesCallbackOnceWithStatusSet) {
  auto ctx = pn::WaitCtx::make();
  struct Seen {
    pn::WaitCtx* ctx;
    int calls = 0;
    int status_in_callback = -1;
  } seen{ctx.get()};
  ctx->set_callback(
      [](void* raw) {
        auto* s = static_cast<Seen*>(raw);
        ++s->calls;
        s->status_in_callback = s->ctx->status();
        return 7;
      },
      &seen);
  const pn::RequestTicket ticket = ctx->arm();
  EXPECT_EQ(ctx->in_flight(), 1U);
  int result = 0;
  EXPECT_EQ(ctx->deliver(ticket, pn::AsyncStatus::kOk, &result), pn::Delivery::kCallback);
  EXPECT_EQ(seen.calls, 1);
  EXPECT_EQ(result, 7);
  EXPECT_EQ(seen.status_in_callback, PN_ASYNC_STATUS_OK);
  EXPECT_EQ(ctx->in_flight(), 0U);
}

TEST(WaitCtxDeliver, WithoutCallbackSetsStatusOnly) {
  auto ctx = pn::WaitCtx::make();
  EXPECT_EQ(ctx->deliver(ctx->arm(), pn::AsyncStatus::kErr), pn::Delivery::kStatusOnly);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR);
}

TEST(WaitCtxDeliver, CancelledRequestIsStale) {
  auto ctx = pn::WaitCtx::make();
  int counter = 0;
  ctx->set_callback(count_calls, &counter);
  const pn::RequestTicket old_ticket = ctx->arm();
  ctx->cancel_pending();
  const pn::RequestTicket new_ticket = ctx->arm();
  EXPECT_EQ(ctx->deliver(old_ticket, pn::AsyncStatus::kOk), pn::Delivery::kStale);
  EXPECT_EQ(counter, 0);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_UNSUPPORTED) << "a stale completion touches nothing";
  EXPECT_EQ(ctx->deliver(new_ticket, pn::AsyncStatus::kOk), pn::Delivery::kCallback);
  EXPECT_EQ(counter, 1);
}

TEST(WaitCtxDeliver, AfterDestroyIsStaleAndFreesLast) {
  int counter = 0;
  pn::WaitCtx* ctx = pn::WaitCtx::create();
  ctx->set_callback(count_calls, &counter);
  const pn::RequestTicket ticket = ctx->arm();
  pn::WaitCtx::destroy(ctx);  // memory stays alive for the ticket (ASAN checks the rest)
  EXPECT_EQ(ctx->deliver(ticket, pn::AsyncStatus::kOk), pn::Delivery::kStale);
  EXPECT_EQ(counter, 0);
}

TEST(WaitCtxDeliver, CallbackMayDestroyItsOwnContext) {
  struct Owner {
    pn::WaitCtx* ctx;
    int calls = 0;
  } owner{pn::WaitCtx::create()};
  owner.ctx->set_callback(
      [](void* raw) {
        auto* o = static_cast<Owner*>(raw);
        ++o->calls;
        pn::WaitCtx::destroy(o->ctx);
        return 1;
      },
      &owner);
  EXPECT_EQ(owner.ctx->deliver(owner.ctx->arm(), pn::AsyncStatus::kOk), pn::Delivery::kCallback);
  EXPECT_EQ(owner.calls, 1);
}

TEST(WaitCtxDeliver, ThrowingCallbackStillDropsTheReference) {
  auto ctx = pn::WaitCtx::make();
  ctx->set_callback([](void*) -> int { throw std::runtime_error("callback failed"); }, nullptr);
  const pn::RequestTicket ticket = ctx->arm();
  EXPECT_THROW(ctx->deliver(ticket, pn::AsyncStatus::kOk), std::runtime_error);
  EXPECT_EQ(ctx->in_flight(), 0U);
}

}  // namespace
