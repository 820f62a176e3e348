// The no-dependency harness of the C++ unit tests in test/native/ (built and run by
// scripts/test-native.sh under sanitizers). A test is a function of EXPECTs; a failed EXPECT
// prints where and what, and the run continues. Each binary ends with the line
// "N tests, N checks, N failed" that test/native/native.test.ts looks for.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <type_traits>

namespace check {

inline int g_failures = 0;
inline int g_checks = 0;

// Counts one check; returns `ok`.
inline bool Record(bool ok) {
  ++g_checks;
  if (!ok) ++g_failures;
  return ok;
}

inline void Expect(bool ok, const char* expr, const char* file, int line) {
  if (!Record(ok)) std::fprintf(stderr, "%s:%d: expected %s\n", file, line, expr);
}

template <typename A, typename B>
void ExpectEq(const A& a, const B& b, const char* a_expr, const char* b_expr, const char* file,
              int line) {
  if (Record(a == b)) return;
  std::ostringstream text;
  text << a_expr << " == " << b_expr;
  if constexpr (std::is_arithmetic<A>::value && std::is_arithmetic<B>::value) {
    text << " (" << +a << " vs " << +b << ")";  // + prints a char-sized value as a number
  }
  std::fprintf(stderr, "%s:%d: expected %s\n", file, line, text.str().c_str());
}

// Compares two sample sequences as one check and reports the first difference, instead of
// one check (and one line) per sample.
template <typename V>
void ExpectSamples(const V& got, const V& want, const char* what, const char* file, int line) {
  if (got.size() != want.size()) {
    Record(false);
    std::fprintf(stderr, "%s:%d: %s: %zu samples, expected %zu\n", file, line, what, got.size(),
                 want.size());
    return;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] == want[i]) continue;
    Record(false);
    std::ostringstream text;
    text << what << ": sample " << i << " is " << +got[i] << ", expected " << +want[i];
    std::fprintf(stderr, "%s:%d: %s\n", file, line, text.str().c_str());
    return;
  }
  Record(true);
}

struct Test {
  const char* name;
  void (*fn)();
};

// Runs every test (or, given arguments, those whose name contains one of them; "--repeat=N"
// runs them N times, for the threaded tests under TSan), prints one line per test run and the
// summary line; returns the exit status.
// `tests`: an array or a vector of Test.
template <typename Tests>
int RunTests(const Tests& tests, int argc = 0, char** argv = nullptr) {
  int repeat = 1;
  int filters = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--repeat=", 9) == 0) {
      repeat = std::atoi(argv[i] + 9);
    } else {
      ++filters;
    }
  }
  int ran = 0;
  for (int round = 0; round < repeat; ++round) {
    for (const Test& test : tests) {
      bool chosen = filters == 0;
      for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--", 2) == 0) continue;
        chosen = chosen || std::strstr(test.name, argv[i]) != nullptr;
      }
      if (!chosen) continue;
      ++ran;
      const int before = g_failures;
      test.fn();
      std::printf("%s %s\n", g_failures == before ? "ok  " : "FAIL", test.name);
      std::fflush(stdout);
    }
  }
  std::printf("%d tests, %d checks, %d failed\n", ran, g_checks, g_failures);
  return g_failures == 0 && ran > 0 ? 0 : 1;
}

}  // namespace check

#define EXPECT(expr) ::check::Expect((expr), #expr, __FILE__, __LINE__)
#define EXPECT_EQ(a, b) ::check::ExpectEq((a), (b), #a, #b, __FILE__, __LINE__)
#define EXPECT_SAMPLES(got, want, what) \
  ::check::ExpectSamples((got), (want), (what), __FILE__, __LINE__)
