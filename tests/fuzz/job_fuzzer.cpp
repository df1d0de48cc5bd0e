// libFuzzer harness: random job programs (several jobs, each a script of pause / block / unblock
// / introspection steps) run in a random interleaving, with a random pool size, against OpenSSL's
// libcrypto and against pollnotify; every returned value is compared.
#include <cstdint>
#include <vector>

#include "byte_reader.hpp"
#include "openssl_api.hpp"

namespace {

using pn::test::ByteReader;
using pn::test::mismatch;
using Log = std::vector<long>;

enum class Step : std::uint8_t { kPause, kBlock, kUnblock, kCurrent, kWaitCtx, kSetFd, kCount };

struct Program {
  std::size_t max_pool, init_pool;
  std::vector<std::vector<Step>> scripts;  // one per job
  std::vector<std::uint8_t> schedule;      // which job runs next
};

Program parse(ByteReader& in) {
  Program program;
  program.max_pool = in.below(5);
  program.init_pool = in.below(5);
  const unsigned jobs = 1 + in.below(4);
  for (unsigned j = 0; j < jobs; ++j) {
    std::vector<Step> script(in.below(9));
    for (Step& step : script)
      step = static_cast<Step>(in.below(static_cast<unsigned>(Step::kCount)));
    program.scripts.push_back(std::move(script));
  }
  while (!in.empty() && program.schedule.size() < 128) program.schedule.push_back(in.next());
  return program;
}

const int kKey = 0;

template <class Api>
struct Runner {
  struct JobState {
    const std::vector<Step>* script;
    typename Api::Ctx* ctx;
    Log* log;
    typename Api::Job* job = nullptr;
    int ret = 0;
    bool started = false, finished = false;
  };

  static int body(void* raw) {
    JobState& state = **static_cast<JobState**>(raw);
    Log& log = *state.log;
    long observed = 0;
    for (Step step : *state.script) {
      switch (step) {
        case Step::kPause:
          log.push_back(Api::pause_job());
          break;
        case Step::kBlock:
          Api::block_pause();
          break;
        case Step::kUnblock:
          Api::unblock_pause();
          break;
        case Step::kCurrent:
          log.push_back(Api::current_job() != nullptr);
          break;
        case Step::kWaitCtx:
          log.push_back(Api::job_wait_ctx(Api::current_job()) == state.ctx);
          break;
        case Step::kSetFd:
          log.push_back(Api::set_wait_fd(state.ctx, &kKey, 7, nullptr, nullptr));
          break;
        case Step::kCount:
          break;
      }
      ++observed;
    }
    return static_cast<int>(observed);
  }

  static void step_job(JobState& state, Log& log) {
    if (state.finished) {
      log.push_back(-100);
      return;
    }
    JobState* self = &state;
    const int result =
        Api::start_job(&state.job, state.ctx, &state.ret, &Runner::body, &self, sizeof self);
    log.push_back(result == Api::kErr      ? 0
                  : result == Api::kNoJobs ? 1
                  : result == Api::kPause  ? 2
                                           : 3);
    if (result == Api::kPause) state.started = true;
    if (result == Api::kFinish) {
      state.finished = true;
      log.push_back(state.ret);
      log.push_back(state.job == nullptr);
    }
    size_t added = 0, deleted = 0;
    log.push_back(Api::get_changed_fds(state.ctx, nullptr, &added, nullptr, &deleted));
    log.push_back(static_cast<long>(added));
  }

  static Log execute(const Program& program) {
    Log log;
    Api::cleanup_thread();
    log.push_back(Api::init_thread(program.max_pool, program.init_pool));
    std::vector<JobState> jobs;
    for (const auto& script : program.scripts)
      jobs.push_back(JobState{&script, Api::ctx_new(), &log});
    for (std::uint8_t choice : program.schedule) step_job(jobs[choice % jobs.size()], log);
    bool progress = true;
    while (progress) {  // finish everything: scripts are finite
      progress = false;
      for (JobState& state : jobs) {
        if (state.finished) continue;
        step_job(state, log);
        progress = true;
      }
      if (progress && log.size() > 100'000)
        mismatch("runaway program", 0, static_cast<long>(log.size()));
    }
    for (JobState& state : jobs) Api::ctx_free(state.ctx);
    Api::cleanup_thread();
    return log;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  const Program program = parse(in);
  const Log expected = Runner<pn::test::Openssl>::execute(program);
  const Log actual = Runner<pn::test::Pollnotify>::execute(program);
  if (expected.size() != actual.size())
    mismatch("log length", static_cast<long>(expected.size()), static_cast<long>(actual.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != actual[i]) mismatch("job log entry", expected[i], actual[i]);
  }
  return 0;
}
