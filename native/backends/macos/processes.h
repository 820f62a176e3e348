// Processes: Core Audio's process objects (the apps with audio), executables by PID, and
// the chain of executables macOS holds responsible for the audio-capture permission.
#pragma once

#include <CoreAudio/AudioHardware.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/macos/tap_logic.h"

namespace audiotap {
namespace mac {

// The executable path of `pid`; "" when it cannot be read.
std::string ExecutablePath(pid_t pid);

// This process's executable, then its ancestors' up to launchd: what macOS holds responsible
// for the permission (a terminal app, an editor, or node itself under a service manager).
std::vector<std::string> ExecutableChain();

// True while the process exists (including one this process may not signal).
bool ProcessExists(int32_t pid);

// Every Core Audio process object except this process's own. Throws EngineError.
std::vector<ProcessEntry> ListProcessEntries();

// Whether the process object plays audio now.
bool IsRunningOutput(AudioObjectID process_object);

// Whether any running process (with or without audio) is named `name` (app name, executable).
bool RunningProcessNamed(const std::string& name);

}  // namespace mac
}  // namespace audiotap
