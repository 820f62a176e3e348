// Delay-load hook for addons built with mingw-w64 (scripts/check-windows.sh). MSVC builds
// get the same behaviour from node-gyp's own win_delay_load_hook.cc; this file is not in
// binding.gyp and compiles to nothing outside mingw.
//
// Why: the addon imports the Node-API functions from a module named "node.exe" (the import
// library is made by dlltool from node-api-headers' node_api.def, which says NAME NODE.EXE).
// A plain import would make the Windows loader look for a module called node.exe, which
// breaks hosts with another name (node-red.exe built with pkg, electron.exe) and could even
// load a second, unrelated node.exe from the PATH. The import library is therefore a
// delay-load library (dlltool --output-delaylib): the first Node-API call goes through
// __delayLoadHelper2, and this hook answers its "load node.exe" request with the module of
// the running host executable, whose exports are then used whatever its file name.
// Limitation (the same as node-gyp's hook): a host that exports Node-API from a DLL other
// than its executable (a separate libnode.dll) is not supported.
#ifdef __MINGW32__

#include <windows.h>

#include <delayimp.h>
#include <string.h>

namespace {

FARPROC WINAPI NodeHostHook(unsigned notification, PDelayLoadInfo info) {
  if (notification != dliNotePreLoadLibrary || !info || !info->szDll) return nullptr;
  if (_stricmp(info->szDll, "node.exe") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}

// mingw-w64's __delayLoadHelper2 reads this writable pointer (MSVC's is a const the addon
// defines). Static initialisers run at DLL attach, before the host calls the addon's
// napi_register_module_v1 and with it the first Node-API function.
struct InstallHook {
  InstallHook() { __pfnDliNotifyHook2 = NodeHostHook; }
} install_hook;

}  // namespace

#endif  // __MINGW32__
