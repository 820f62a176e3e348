// Blocking engine calls run on N-API worker threads, never on the JavaScript thread (where a
// slow or wedged audio server would freeze Node-RED), and what they share: the backend and
// coded errors.
#pragma once

#include <napi.h>

#include <functional>
#include <string>

#include "core/engine.h"

namespace audiotap {

// The OS backend. Backends are stateless between calls (each call opens its own OS
// connection), so one instance serves every worker thread.
Backend& GetBackend();

// An Error with `message` and a `code` property (EngineError's codes).
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message);

// Runs `work` on a worker thread and settles a promise: resolved with `result(env)` (called
// on the JS thread), or rejected with an Error whose `code` is the EngineError's. `settled`,
// if given, runs on the JS thread first, with whether `work` succeeded.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Result = std::function<Napi::Value(Napi::Env)>;
  using Settled = std::function<void(bool ok)>;

  static Napi::Promise Run(Napi::Env env, Work work, Result result, Settled settled = {}) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(result), std::move(settled));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, Work work, Result result, Settled settled)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(std::move(result)),
        settled_(std::move(settled)) {}

  void Execute() override {
    try {
      work_();
    } catch (const EngineError& error) {
      code_ = error.code;
      SetError(error.what());
    } catch (const std::exception& error) {
      code_ = "EOS";
      SetError(error.what());
    }
  }
  void OnOK() override {
    if (settled_) settled_(true);
    deferred_.Resolve(result_ ? result_(Env()) : Env().Undefined());
  }
  void OnError(const Napi::Error& error) override {
    if (settled_) settled_(false);
    deferred_.Reject(MakeError(Env(), code_, error.Message()).Value());
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Result result_;
  Settled settled_;
  std::string code_;
};

// Runs `work` on a worker thread, then `done` on the JS thread. For blocking engine calls
// whose result nobody awaits (stopping a capture): they must not run on the JS thread, where a
// slow or wedged audio server would freeze Node-RED. `work` must not throw.
class BackgroundTask : public Napi::AsyncWorker {
 public:
  static void Run(Napi::Env env, std::function<void()> work, std::function<void()> done) {
    (new BackgroundTask(env, std::move(work), std::move(done)))->Queue();
  }

 private:
  BackgroundTask(Napi::Env env, std::function<void()> work, std::function<void()> done)
      : Napi::AsyncWorker(env), work_(std::move(work)), done_(std::move(done)) {}
  void Execute() override { work_(); }
  void OnOK() override { done_(); }
  void OnError(const Napi::Error&) override { done_(); }

  std::function<void()> work_;
  std::function<void()> done_;
};

}  // namespace audiotap
