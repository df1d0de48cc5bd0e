// A device written in C (a PN_DEVICE_METHOD table and its state) as a pn::Device: its poll
// function becomes one PollSource per poller. What PN_RUNTIME_add_device builds.
#pragma once

#include <memory>
#include <span>

#include "pollnotify/device.h"
#include "pollnotify/device.hpp"
#include "pollnotify/poller.hpp"

namespace pn {

// Registers the poll function with every poller (they must not be running). Throws
// std::invalid_argument for a table without submit/capacity/in_flight or an unknown struct_size.
// The adapter does not own the C state until adopt_c_state(): a device a runtime refused is left
// to its owner (method.destroy is not called).
[[nodiscard]] std::unique_ptr<Device> make_c_device(const PN_DEVICE_METHOD& method, void* device,
                                                    std::span<Poller* const> pollers);
// `device` must come from make_c_device: from now on its destruction calls method.destroy.
void adopt_c_state(Device& device) noexcept;

}  // namespace pn
