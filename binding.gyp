{
  "targets": [
    {
      "target_name": "audiotap",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/apps_binding.cc",
        "native/addon/arguments.cc",
        "native/addon/capture_binding.cc",
        "native/addon/dsp_binding.cc",
        "native/addon/playback_binding.cc",
        "native/addon/workers.cc",
        "native/core/app_follow.cc",
        "native/core/app_list.cc",
        "native/core/engine.cc",
        "native/core/capture_core.cc",
        "native/core/channel_mix.cc",
        "native/core/track_set.cc",
        "native/dsp/biquad_cascade.cc",
        "native/dsp/soft_clipper.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/backends/linux/audibility.cc",
            "native/backends/linux/backend.cc",
            "native/backends/linux/capture.cc",
            "native/backends/linux/capture_apps.cc",
            "native/backends/linux/capture_monitors.cc",
            "native/backends/linux/capture_server.cc",
            "native/backends/linux/connection.cc",
            "native/backends/linux/mute_sink.cc",
            "native/backends/linux/pipewire_api.cc",
            "native/backends/linux/playback.cc",
            "native/backends/linux/processes.cc",
            "native/backends/linux/pulse_api.cc",
            "native/backends/linux/sink_input.cc",
            "native/backends/linux/stream_restore.cc",
            "native/backends/linux/stream_targets.cc"
          ],
          "include_dirs": [
            "<!@(pkg-config --cflags-only-I libpipewire-0.3 2>/dev/null | sed 's/-I//g' | grep . || echo /usr/include/pipewire-0.3 /usr/include/spa-0.2)"
          ],
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='mac'", {
          "sources": [
            "native/backends/macos/backend.mm",
            "native/backends/macos/devices.mm",
            "native/backends/macos/input_session.mm",
            "native/backends/macos/pcm_path.mm",
            "native/backends/macos/playback.mm",
            "native/backends/macos/processes.mm",
            "native/backends/macos/properties.mm",
            "native/backends/macos/tap.mm",
            "native/backends/macos/tap_logic.cc",
            "native/backends/macos/tap_session.mm",
            "native/backends/macos/tap_session_io.mm"
          ],
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_ENABLE_CPP_RTTI": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_CXX_LIBRARY": "libc++",
            "CLANG_ENABLE_OBJC_ARC": "YES",
            "MACOSX_DEPLOYMENT_TARGET": "13.0",
            "OTHER_CFLAGS": ["-arch", "x86_64", "-arch", "arm64"],
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-Wall", "-Werror=unguarded-availability-new",
                                     "-arch", "x86_64", "-arch", "arm64"],
            "OTHER_LDFLAGS": ["-arch", "x86_64", "-arch", "arm64"]
          },
          "link_settings": {
            "libraries": [
              "-framework CoreAudio",
              "-framework AudioToolbox",
              "-framework Foundation"
            ]
          }
        }],
        ["OS=='win'", {
          "sources": [
            "native/backends/windows/activation.cc",
            "native/backends/windows/backend.cc",
            "native/backends/windows/capture.cc",
            "native/backends/windows/endpoints.cc",
            "native/backends/windows/loopback_client.cc",
            "native/backends/windows/playback.cc",
            "native/backends/windows/processes.cc",
            "native/backends/windows/sessions.cc",
            "native/backends/windows/win32.cc"
          ],
          "defines": ["_WIN32_WINNT=0x0A00", "NOMINMAX", "WIN32_LEAN_AND_MEAN"],
          "msvs_settings": {
            "VCCLCompilerTool": {
              "ExceptionHandling": 1,
              "AdditionalOptions": ["/std:c++17", "/O2"]
            }
          },
          "libraries": ["ole32.lib", "mmdevapi.lib", "avrt.lib", "uuid.lib"]
        }]
      ]
    }
  ]
}
