// pollnotify-bench's command line, as a table: every accepted form sets what it says, every bad
// value is refused with a message that names the option and the value, and nothing throws.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "options.hpp"

namespace {

using pn::bench::Action;
using pn::bench::CommandLine;
using pn::bench::parse_command_line;

CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "pollnotify-bench");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return parse_command_line(static_cast<int>(args.size()), argv.data());
}

struct Refusal {
  std::vector<std::string> args;
  std::string message;  // a part of the error
};

TEST(BenchOptions, RefusesBadValuesWithAMessageNamingThem) {
  const std::string missing_dir = "/nonexistent-pollnotify-dir/x.svg";
  const std::vector<Refusal> table = {
      {{"--cpus", "5000,1"}, "--cpus"},
      {{"--cpus=0"}, "--cpus wants APP,POLLER, got '0'"},
      {{"--cpus", "0,x"}, "got 'x'"},
      {{"--cpus", "-2,1"}, "got '-2'"},
      {{"--seed", "-1"}, "--seed wants a whole number in [0, 18446744073709551615], got '-1'"},
      {{"--seed=18446744073709551616"}, "--seed wants"},
      {{"--jobs=0"}, "--jobs wants a whole number in [1,"},
      {{"--jobs", "4x"}, "got '4x'"},
      {{"--unloaded-jobs", ""}, "--unloaded-jobs wants"},
      {{"--depth", "1000001"}, "--depth wants"},
      {{"--duration", "0"}, "--duration wants a number in [0.01, 86400], got '0'"},
      {{"--duration", "nan"}, "--duration wants"},
      {{"--duration", "1e300"}, "--duration wants"},
      {{"--warmup", "-0.1"}, "--warmup wants"},
      {{"--rate", "0"}, "--rate wants"},
      {{"--rate", "inf"}, "--rate wants"},
      {{"--repetitions", "0"}, "--repetitions wants"},
      {{"--repetitions", "1001"}, "--repetitions wants"},
      {{"--timed-interval", "0"}, "--timed-interval wants"},
      {{"--spin-polls", "0"}, "--spin-polls wants"},
      {{"--app-spin", "1000001"}, "--app-spin wants"},
      {{"--floor-time", "0"}, "--floor-time wants"},
      {{"--requests", "0"}, "--requests wants"},
      {{"--mechanisms", ""}, "--mechanisms is empty"},
      {{"--mechanisms", "busy,foo"}, "--mechanisms: unknown 'foo'"},
      {{"--latency", ""}, "--latency is empty"},
      {{"--latency", "exp:-1"}, "--latency: 'exp:-1': latency model 'exp:-1'"},
      {{"--device", "uring:bogus"}, "--device: 'uring:bogus'"},
      {{"--device", "uring:read:/nonexistent-pollnotify-file"},
       "'uring:read:/nonexistent-pollnotify-file'"},
      {{"--latency", "fixed:1e300"}, "--latency:"},
      {{"--latency", "trace:/nonexistent-pollnotify-trace"}, "--latency:"},
      {{"--json"}, "option --json needs a value"},
      {{"--json", "/"}, "--json: '/' is a directory"},
      {{"--json", "--plot", "out.svg"}, "--json wants a path, got '--plot'"},
      {{"--hgrm", "--json=x"}, "--hgrm wants a path, got '--json=x'"},
      {{"--plot", missing_dir}, "--plot: cannot write in '/nonexistent-pollnotify-dir'"},
      {{"--hgrm", "/nonexistent-pollnotify-dir/a/b"}, "--hgrm: cannot create"},
      {{"--hgrm", "/dev/null"}, "--hgrm: '/dev/null' is not a directory"},
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"-x"}, "unknown option '-x'"},
      {{"extra"}, "unexpected argument 'extra'"},
      {{"--compare", "a.json"}, "--compare wants two JSON files"},
      {{"--compare", "a.json", "b.json", "c.json"}, "--compare wants two JSON files"},
  };
  for (const Refusal& refusal : table) {
    std::string joined;
    for (const std::string& arg : refusal.args) joined += arg + " ";
    const CommandLine line = parse(refusal.args);
    EXPECT_EQ(line.action, Action::kError) << joined;
    EXPECT_NE(line.error.find(refusal.message), std::string::npos)
        << joined << "-> '" << line.error << "'";
  }
}

TEST(BenchOptions, AcceptsBothSpellingsAndSetsTheValues) {
  const CommandLine spaced = parse({"--jobs", "4", "--duration", "0.5", "--rate", "1000",
                                    "--repetitions", "3", "--seed", "7", "--no-progress"});
  const CommandLine joined = parse({"--jobs=4", "--duration=0.5", "--rate=1000", "--repetitions=3",
                                    "--seed=7", "--no-progress"});
  for (const CommandLine* line : {&spaced, &joined}) {
    ASSERT_EQ(line->action, Action::kRun) << line->error;
    EXPECT_EQ(line->options.workload.jobs, 4U);
    EXPECT_DOUBLE_EQ(line->options.workload.duration_s, 0.5);
    EXPECT_DOUBLE_EQ(line->options.rate, 1000);
    EXPECT_EQ(line->options.repetitions, 3U);
    EXPECT_EQ(line->options.workload.seed, 7U);
    EXPECT_FALSE(line->options.workload.progress);
  }
}

TEST(BenchOptions, ListsCpusAndOutputs) {
  char directory[] = "/tmp/pn-bench-options-XXXXXX";
  ASSERT_NE(::mkdtemp(directory), nullptr);
  const std::string dir = directory;
  const CommandLine line =
      parse({"--mechanisms=busy,eventfd", "--latency", "zero,exp:5000", "--cpus", "0,-1", "--json",
             "-", "--plot", dir + "/p.svg", "--hgrm", dir + "/hgrm"});
  ASSERT_EQ(line.action, Action::kRun) << line.error;
  ASSERT_EQ(line.options.mechanisms.size(), 2U);
  EXPECT_EQ(line.options.mechanisms[1], pn::bench::Mechanism::kEventfd);
  EXPECT_EQ(line.options.devices, (std::vector<std::string>{"zero", "exp:5000"}));
  EXPECT_EQ(line.options.workload.app_cpu, 0);
  EXPECT_EQ(line.options.workload.poller_cpu, -1);
  EXPECT_EQ(line.options.json_path, "-");
  EXPECT_EQ(::access((dir + "/hgrm").c_str(), W_OK), 0) << "--hgrm creates its directory";
  ::rmdir((dir + "/hgrm").c_str());
  ::rmdir(directory);
}

TEST(BenchOptions, RequestsReplaceTheDuration) {
  const CommandLine line = parse({"--requests", "10", "--duration", "0.5"});
  ASSERT_EQ(line.action, Action::kRun);
  EXPECT_EQ(line.options.workload.requests, 10U);
  EXPECT_GT(line.options.workload.duration_s, 3600) << "the count decides when a phase ends";
}

TEST(BenchOptions, HelpAndCompare) {
  EXPECT_EQ(parse({"--help"}).action, Action::kHelp);
  EXPECT_EQ(parse({"--jobs", "1", "--help"}).action, Action::kHelp);
  const CommandLine compare = parse({"--compare", "a.json", "b.json"});
  ASSERT_EQ(compare.action, Action::kCompare);
  EXPECT_EQ(compare.options.compare_a, "a.json");
  EXPECT_EQ(compare.options.compare_b, "b.json");
  EXPECT_NE(std::string(pn::bench::kUsage).find("Exit status"), std::string::npos);
}

TEST(BenchOptions, ParsesRepeatedlyInOneProcess) {
  // getopt_long keeps state between calls; a second parse must start afresh.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(parse({"--bogus"}).action, Action::kError);
    EXPECT_EQ(parse({"--jobs", "2"}).options.workload.jobs, 2U);
  }
}

}  // namespace
