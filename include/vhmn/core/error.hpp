// vhmn/core/error.hpp — the one error-reporting path of the library.
//
// Every bad input (wrong shape, corrupt file, NaN, bad argument) is reported
// through VHMN_CHECK / VHMN_FAIL with a message that names what was wrong.
// With exceptions enabled they throw vhmn::Error; built with -fno-exceptions
// they call the installed error handler (default: print and abort), so the
// library still compiles and still says what happened.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "vhmn/core/config.hpp"

namespace vhmn {

/// What: the exception type of everything vhmn rejects. what() names the problem.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Handler called instead of throwing when exceptions are disabled. Must not return.
using ErrorHandler = void (*)(const char* message);

namespace detail {
[[noreturn]] inline void default_error_handler(const char* message) {
  std::fprintf(stderr, "vhmn: error: %s\n", message);
  std::abort();
}
inline ErrorHandler& error_handler_slot() {
  static ErrorHandler handler = &default_error_handler;
  return handler;
}

[[noreturn]] inline void raise(const std::string& message) {
#if VHMN_HAS_EXCEPTIONS
  throw Error(message);
#else
  error_handler_slot()(message.c_str());
  std::abort();  // a handler that returns still ends the program
#endif
}
}  // namespace detail

/// Installs the handler used by -fno-exceptions builds; returns the previous one.
inline ErrorHandler set_error_handler(ErrorHandler handler) {
  ErrorHandler previous = detail::error_handler_slot();
  detail::error_handler_slot() = handler ? handler : &detail::default_error_handler;
  return previous;
}

}  // namespace vhmn

/// Fails with a streamed message: VHMN_FAIL("bad shape " << n);
#define VHMN_FAIL(stream_expr)                         \
  do {                                                 \
    std::ostringstream vhmn_msg_;                      \
    vhmn_msg_ << stream_expr;                          \
    ::vhmn::detail::raise(vhmn_msg_.str());            \
  } while (0)

/// Checks a condition on user input; fails with the streamed message if false.
#define VHMN_CHECK(cond, stream_expr) \
  do {                                \
    if (!(cond)) VHMN_FAIL(stream_expr); \
  } while (0)
