// Processes (/proc): to tell "not playing yet" from "not running", and to notice exits.
#pragma once

#include <cstdint>
#include <set>
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

// The parent of `pid` (/proc/<pid>/stat), or 0 when it is gone or unknown.
int32_t ParentOf(int32_t pid);

// Is `pid` a child, grandchild, … of one of `ancestors` (not one of them itself)? Follows the
// parent chain up to init (at most 64 steps, against loops while processes are reparented).
bool DescendantOf(int32_t pid, const std::set<int32_t>& ancestors);

}  // namespace pulse
}  // namespace audiotap
