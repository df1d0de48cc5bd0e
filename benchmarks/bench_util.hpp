// Helpers shared by the benchmark binaries: thread pinning and machine description.
#pragma once

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <fstream>
#include <string>
#include <thread>

namespace pn::bench {

// Pins the calling thread to one CPU (modulo the CPUs present). Returns false if refused.
inline bool pin_this_thread(int cpu) {
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpus > 0 ? cpu % cpus : 0, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

inline std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

// The main of every Google Benchmark binary here: machine context, then the registered benchmarks.
// pin_cpu >= 0 pins the benchmark thread first.
inline int run_benchmarks(int argc, char** argv, int pin_cpu) {
  if (pin_cpu >= 0) pin_this_thread(pin_cpu);
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace pn::bench
