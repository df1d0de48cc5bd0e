// The machine a report describes: CPU model, CPU count, kernel, compiler, clock source.
#include <sys/utsname.h>

#include <fstream>
#include <thread>

#include "pollnotify/clock.hpp"
#include "report.hpp"

namespace pn::bench {

MachineInfo MachineInfo::detect() {
  MachineInfo info;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      info.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  info.cpus = std::thread::hardware_concurrency();
  utsname name{};
  if (::uname(&name) == 0)
    info.kernel = std::string(name.sysname) + " " + name.release + " " + name.machine;
#if defined(__clang__)
  info.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "gcc " __VERSION__;
#endif
  info.clock = CheapClock::source();
  return info;
}

}  // namespace pn::bench
