#include "addon/workers.h"

#include <memory>

namespace audiotap {

Backend& GetBackend() {
  static std::unique_ptr<Backend> backend = CreateBackend();
  return *backend;
}

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

}  // namespace audiotap
