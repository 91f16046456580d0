// Conventions shared by every wkit program (wgen, wrun, wbench, ...).
//
//   int main(int argc, char** argv) {
//     w::cli::Program prog("wgen", "generate datasets", kExamples);
//     ... add options and subcommands to prog.app() ...
//     return prog.run(argc, argv, [&] { return run_wgen(options); });
//   }
//
// Program adds --version, --config FILE (TOML or INI), -v/--verbose and
// -q/--quiet, binds every long option to a W_<NAME> environment variable,
// puts the Examples at the end of --help, and turns parse errors and the
// returned Status into a message on stderr and a named exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "w/status.h"

namespace w::cli {

/// Exit codes, named (ninja, sysexits where they fit).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,       ///< the work ran and some of it failed
  kExitUsage = 2,         ///< bad flags or arguments
  kExitDataErr = 65,      ///< EX_DATAERR: malformed input stream
  kExitNoInput = 66,      ///< EX_NOINPUT: a file or kernel does not exist
  kExitNoHost = 68,       ///< EX_NOHOST: a server's host name does not resolve
  kExitUnavailable = 69,  ///< EX_UNAVAILABLE: no such service at that URL (HTTP 4xx)
  kExitSoftware = 70,     ///< EX_SOFTWARE: internal error
  kExitIoErr = 74,        ///< EX_IOERR: an OS call failed
  kExitTempFail = 75,     ///< EX_TEMPFAIL: a server stayed unreachable past the retries
  kExitProtocol = 76,     ///< EX_PROTOCOL: TLS failed (certificate not verified)
  kExitNoPerm = 77,       ///< EX_NOPERM
  kExitInterrupted = 130  ///< SIGINT/SIGTERM
};

/// The exit code a tool returns for a Status.
int exit_code_for(const Status& status);

class Program {
 public:
  Program(std::string name, std::string description, std::string examples);

  CLI::App& app() { return *app_; }
  int verbosity() const { return verbose_ - quiet_; }

  /// Parses argv, then calls `body` unless --help/--version answered.
  /// Prints the Status `body` returns (unless ok or a broken pipe) and
  /// returns its exit code.
  int run(int argc, char** argv, const std::function<Status()>& body);

 private:
  void bind_environment(CLI::App& app);

  std::string name_;
  std::unique_ptr<CLI::App> app_;
  int verbose_ = 0;
  int quiet_ = 0;
};

/// Parses a count a person types: "1000", "1e9", "10k", "2M" (no fractions
/// left after scaling). Used by CLI11 transforms and generators alike.
Result<long long> parse_count(std::string_view text);

/// Parses a duration: "30" (seconds), "1.5s", "250ms", "2m", "1h".
Result<double> parse_seconds(std::string_view text);

/// A CLI11 validator wrapping parse_seconds (for --timeout style options).
CLI::Validator seconds_validator();

}  // namespace w::cli
