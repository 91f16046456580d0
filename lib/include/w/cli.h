// Conventions shared by every wkit program (wgen, wrun, wbench, ...).
//
//   int main(int argc, char** argv) {
//     w::cli::Program prog("wgen", "generate datasets", kExamples);
//     ... add options and subcommands to prog.app() ...
//     return prog.run(argc, argv, [&] { return run_wgen(options); });
//   }
//
// Program adds --version, --config FILE (TOML or INI), -v/--verbose and
// -q/--quiet, binds every long option to a <PROGRAM>_<NAME> environment
// variable (W_POOL, W_CAP, W_CACERT shared by all: see environment_name),
// puts the Examples at the end of --help, and turns parse errors and the
// returned Status into a message on stderr and a named exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "w/parse.h"
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
  kExitTimeout = 124,     ///< a --timeout of the whole command expired, as timeout(1)
  kExitInterrupted = 130  ///< SIGINT/SIGTERM
};

/// The exit code a tool returns for a Status.
int exit_code_for(const Status& status);

template <class Options>
struct Command;

class Program {
 public:
  Program(std::string name, std::string description, std::string examples);

  CLI::App& app() { return *app_; }
  int verbosity() const { return verbose_ - quiet_; }

  /// Parses argv, then calls `body` unless --help/--version answered.
  /// Prints the Status `body` returns (unless ok or a broken pipe) and
  /// returns its exit code (`exit_code`, exit_code_for by default). The one
  /// place a program ends: nothing else in lib/ or tools/ calls exit().
  int run(int argc, char** argv, const std::function<Status()>& body,
          const std::function<int(const Status&)>& exit_code = exit_code_for);

  /// A program from a command table (see Command): `root`'s options go on
  /// the program itself, its subcommands below; parses argv and runs the
  /// subcommand named (or `root.run` without one), with its exit-code rule.
  template <class Options>
  int run(int argc, char** argv, const Command<Options>& root, Options& options);

 private:
  /// The variable an option reads: W_POOL, W_CAP, W_CACERT are shared by
  /// every program; any other is <PROGRAM>_<NAME> (WPOOL_TIMEOUT).
  std::string environment_name(std::string_view lname) const;
  void bind_environment(CLI::App& app);
  /// Usage error naming the new variable when an old W_<NAME> one is set.
  Status check_old_environment(const CLI::App& app) const;

  /// --print-config: each setting of the command being run, its value and
  /// where it came from (command line, environment, config file, default).
  void print_config(int argc, char** argv) const;

  std::string name_;
  std::unique_ptr<CLI::App> app_;
  std::shared_ptr<std::map<std::string, std::string>> config_origins_;
  int verbose_ = 0;
  int quiet_ = 0;
  bool print_config_ = false;
};

// The number and duration parsers live in util/ (net/ and gen/ parse with
// them too, and may not reach up to cli/); flags keep their cli:: names.
using util::parse_count;
using util::parse_seconds;

/// A CLI11 validator wrapping parse_seconds (for --timeout style options).
CLI::Validator seconds_validator();

/// One subcommand of a program, a row of its main's command table: the
/// options it adds to its CLI::App (into the program's Options) and what it
/// runs once parsed. A row with `subcommands` and no `run` needs one of them
/// (`wpool kernel add`); with both, `run` is what it does alone
/// (`wpool workers` beside `wpool workers unflag`).
template <class Options>
struct Command {
  std::string_view name;
  std::string_view help;
  void (*options)(CLI::App& app, Options& options) = nullptr;
  Status (*run)(Options& options) = nullptr;
  std::span<const Command> subcommands = {};
  /// The exit code for its Status when not exit_code_for's (`wpool wait`:
  /// 124 for a timeout, 3 for a campaign its run found cancelled).
  int (*exit_code)(const Status& status, const Options& options) = nullptr;
  /// Shown under its --help ("  wpool wait primes --timeout 1h\n..."); a
  /// command without shows none rather than repeating the program's.
  std::string_view examples = {};
};

namespace detail {
/// Where each key a config file set came from, "FILE:LINE", by the key's
/// full name ("wait.timeout"; top-level keys of the root: "timeout"), for
/// --print-config.
using ConfigOrigins = std::map<std::string, std::string>;
/// The reader of --config files: sections scope to their command, unknown
/// keys and sections are refused with FILE:LINE (lib/src/cli/config.cc).
std::shared_ptr<CLI::Config> scoped_config(CLI::App& root, std::string program,
                                           std::shared_ptr<ConfigOrigins> origins);

template <class Options>
struct Chosen {
  const Command<Options>* command = nullptr;
};

// Adds `commands` under `parent`; the callback of the deepest parsed one
// (CLI11 calls a subcommand's before its parent's) sets `chosen` first.
template <class Options>
void add_commands(CLI::App& parent, std::span<const Command<Options>> commands, Options& options,
                  Chosen<Options>& chosen) {
  for (const Command<Options>& c : commands) {
    CLI::App* sub = parent.add_subcommand(std::string(c.name), std::string(c.help));
    if (c.options) c.options(*sub, options);
    sub->footer(c.examples.empty() ? std::string() : "\nExamples:\n" + std::string(c.examples));
    if (!c.subcommands.empty()) {
      add_commands(*sub, c.subcommands, options, chosen);
      if (!c.run) sub->require_subcommand(1);
    }
    sub->callback([&chosen, &c] {
      if (!chosen.command) chosen.command = &c;
    });
  }
}
}  // namespace detail

template <class Options>
int Program::run(int argc, char** argv, const Command<Options>& root, Options& options) {
  detail::Chosen<Options> chosen;
  try {
    if (root.options) root.options(*app_, options);
    detail::add_commands(*app_, root.subcommands, options, chosen);
  } catch (const std::exception& e) {  // CLI11: an option named twice
    std::fprintf(stderr, "%s: internal error: %s\n", name_.c_str(), e.what());
    return kExitSoftware;
  }
  if (!root.run) app_->require_subcommand(1);
  auto command = [&] { return chosen.command ? chosen.command : &root; };
  return run(
      argc, argv, [&] { return command()->run(options); },
      [&](const Status& status) {
        return command()->exit_code ? command()->exit_code(status, options) : exit_code_for(status);
      });
}

}  // namespace w::cli
