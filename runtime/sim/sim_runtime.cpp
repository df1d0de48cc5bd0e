#include "pollnotify/sim_runtime.hpp"

#include <memory>

namespace pn {

SimRuntime::SimRuntime(SimRuntimeOptions options)
    : Runtime(static_cast<const RuntimeOptions&>(options)),
      device_(static_cast<SimDevice&>(
          add_device(std::make_unique<SimDevice>(std::move(options.device), pollers())))) {}

}  // namespace pn
