// Process loopback: an audio client that captures one process tree, or the system mix
// without it (Windows 10 build 19041+, documented from build 20348).
#pragma once

#include <windows.h>

#include <audioclient.h>

#include <cstdint>
#include <string>

#include "backends/windows/win32.h"

namespace audiotap {
namespace win {

// Process loopback exists from build 19041 (Windows 10 2004); Microsoft documents build
// 20348 as the minimum, so builds in between are tried and fail with EUNSUPPORTED if the
// activation is refused.
constexpr uint32_t kFirstProcessLoopbackBuild = 19041;
constexpr uint32_t kDocumentedProcessLoopbackBuild = 20348;

// What to tell a user whose Windows (`build`, 0 when unknown) has no process loopback.
std::string ProcessLoopbackUnsupportedMessage(uint32_t build);

// Activates a process-loopback client on `pid`'s process tree: the tree's audio
// (`include_tree`), or the system mix without it. Waits up to 5 s for the activation. Throws
// EngineError: EUNSUPPORTED when the system refuses it, EOS on timeout or another failure.
ComPtr<IAudioClient> ActivateProcessLoopback(DWORD pid, bool include_tree);

}  // namespace win
}  // namespace audiotap
