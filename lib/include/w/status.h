// Status and Result<T>: how lib/ reports failure (leveldb style).
//
// A Status is ok or carries a code and a message with context, e.g.
// "open 'pool.db': Permission denied". Tools turn it into a message on stderr
// and an exit code with w::cli::exit_code_for(); nothing in lib/ prints.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace w {

/// What kind of failure; tools map these to exit codes.
enum class Code {
  kOk = 0,
  kInvalid,      ///< bad input data
  kUsage,        ///< bad arguments: the command line does not make sense
  kNotFound,     ///< a file, kernel or object does not exist
  kIo,           ///< an operating-system call failed
  kTimeout,      ///< something took longer than allowed
  kDenied,       ///< permission or capability refused
  kBrokenPipe,   ///< the reader of our output went away (EPIPE)
  kInterrupted,  ///< SIGINT/SIGTERM asked us to stop
  kFailed,       ///< work ran but some of it failed (e.g. a task)
  kInternal,     ///< a bug: an invariant did not hold
  // Why a server could not be reached (net_client.h): the first three are
  // permanent, so clients stop at once instead of retrying.
  kNoHost,       ///< the host name does not resolve
  kUnavailable,  ///< no such service at that URL (HTTP 404, another 4xx, not a WebSocket)
  kTls,          ///< TLS failed: the certificate did not verify, or no TLS there
  kTempFail,     ///< a transient failure (refused, reset, 5xx) outlasted the retries
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  /// Prefixes context: Status::Io("x").with_context("read 'f'") -> "read 'f': x".
  Status with_context(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

/// "what: strerror(err)" with a code chosen from errno (ENOENT -> kNotFound...).
Status errno_status(std::string_view what, int err);

namespace detail {
/// Prints "fatal: ... holds an error: <message>" to stderr and aborts.
[[noreturn]] void result_without_value(const Status& status);
}  // namespace detail

/// A value or the Status saying why there is none.
///
/// Reaching for the value of a Result that holds an error is a bug, never
/// undefined behaviour: in every build it aborts with a message naming the
/// error (it would otherwise read an empty std::optional). Check ok() first,
/// or use value_or().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  /// An ok Status carries no value: it becomes an internal error.
  Result(Status status)  // NOLINT: implicit by design
      : status_(status.ok() ? Status::Internal("a Result was made from an ok Status")
                            : std::move(status)) {}

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return checked(); }
  const T& value() const& { return checked(); }
  T&& value() && { return std::move(checked()); }
  /// The value, or `fallback` when this holds an error.
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return checked(); }
  T&& operator*() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &checked(); }

 private:
  T& checked() {
    if (!value_) detail::result_without_value(status_);
    return *value_;
  }
  const T& checked() const {
    if (!value_) detail::result_without_value(status_);
    return *value_;
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace w

/// Returns early from the enclosing function if `expr` is not ok.
#define W_RETURN_IF_ERROR(expr)            \
  do {                                     \
    ::w::Status w_status_ = (expr);        \
    if (!w_status_.ok()) return w_status_; \
  } while (0)
