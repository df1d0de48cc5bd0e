#include <pollnotify/job.hpp>
#include <pollnotify/wait_ctx.hpp>

#include <cstdio>

int main() {
  auto ctx = pn::WaitCtx::make();
  int fired = 0;
  ctx->set_callback([](void* arg) { return ++*static_cast<int*>(arg); }, &fired);
  pn::AsyncJob* job = nullptr;
  int ret = 0;
  auto body = [] {
    pn::jobs::pause();
    return 7;
  };
  if (pn::jobs::start(job, ctx.get(), ret, body) != pn::JobStatus::kPause) return 1;
  if (ctx->deliver(ctx->arm(), pn::AsyncStatus::kOk) != pn::Delivery::kCallback) return 2;
  if (pn::jobs::resume(job, ret) != pn::JobStatus::kFinish || ret != 7 || fired != 1) return 3;
  pn::jobs::cleanup_thread();
  std::puts("consumer ok");
  return 0;
}
