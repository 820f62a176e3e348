// Processes (/proc): to tell "not playing yet" from "not running", and to notice exits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/app_list.h"  // AsciiLower, AppNameMatches

namespace audiotap {
namespace pulse {

// True while the process exists and is not a zombie.
bool ProcessAlive(int32_t pid);

// Does process `pid` go by `lower_name` (its comm, or its executable or argv[0] as
// AppNameMatches compares them; `lower_name` is lower-case)?
bool ProcessNamed(int32_t pid, const std::string& lower_name);

// The live processes named `name` (any case).
std::vector<int32_t> ProcessesNamed(const std::string& name);

}  // namespace pulse
}  // namespace audiotap
