#include "w/cli.h"

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "w/diag.h"

#ifndef W_VERSION
#define W_VERSION "0.0.0"
#endif

namespace w::cli {

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
    case Code::kBrokenPipe:  // downstream closed the pipe: it has what it wanted
      return kExitOk;
    case Code::kInvalid:
      return kExitDataErr;
    case Code::kUsage:
      return kExitUsage;
    case Code::kNotFound:
      return kExitNoInput;
    case Code::kIo:
      return kExitIoErr;
    case Code::kDenied:
      return kExitNoPerm;
    case Code::kInterrupted:
      return kExitInterrupted;
    case Code::kInternal:
      return kExitSoftware;
    case Code::kNoHost:
      return kExitNoHost;
    case Code::kUnavailable:
      return kExitUnavailable;
    case Code::kTempFail:
      return kExitTempFail;
    case Code::kTls:
      return kExitProtocol;
    case Code::kTimeout:
    case Code::kFailed:
      return kExitFailure;
  }
  return kExitFailure;
}

Program::Program(std::string name, std::string description, std::string examples)
    : name_(std::move(name)), app_(std::make_unique<CLI::App>(std::move(description), name_)) {
  diag::set_program(name_);
  app_->set_version_flag("--version", name_ + " (wkit) " W_VERSION);
  app_->set_config("--config", "", "Read options from a TOML or INI file")
      ->envname("W_CONFIG")
      ->check(CLI::ExistingFile);
  app_->add_flag("-v,--verbose", verbose_, "Say more on stderr (repeat for more)");
  app_->add_flag("-q,--quiet", quiet_, "Only errors on stderr");
  if (!examples.empty()) app_->footer("\nExamples:\n" + examples);
  app_->get_formatter()->column_width(34);
  app_->fallthrough();  // -v, -q, -f ... also after a subcommand
}

void Program::bind_environment(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    const std::string& lname = opt->get_single_name();
    // --insecure (no TLS verification) only ever from the command line: a
    // variable left in an environment would turn it off unseen.
    if (opt->get_lnames().empty() || lname == "help" || lname == "version" || lname == "config" ||
        lname == "help-all" || lname == "insecure")
      continue;
    if (!opt->get_envname().empty()) continue;
    std::string env = "W_";
    for (char c : opt->get_lnames().front())
      env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    opt->envname(env);
  }
  for (CLI::App* sub : app.get_subcommands({})) {
    // CLI11 reads the environment of every subcommand, used or not, unless it
    // has a parse-complete callback; options bound to one variable in several
    // subcommands (--pool) would otherwise let W_POOL beat the flag.
    if (!sub->get_name().empty()) sub->parse_complete_callback([] {});
    bind_environment(*sub);
  }
}

int Program::run(int argc, char** argv, const std::function<Status()>& body) {
  bind_environment(*app_);
  // CLI11 reads the config file before the environment, so W_CONFIG would
  // come too late to be read: make it the config option's default instead
  // (an explicit --config still wins).
  if (const char* env = std::getenv("W_CONFIG"); env && *env) {
    if (!std::filesystem::is_regular_file(env)) {
      diag::error("W_CONFIG={}: no such file", env);
      return kExitUsage;
    }
    app_->set_config("--config", env, "Read options from a TOML or INI file")
        ->check(CLI::ExistingFile);
  }
  try {
    app_->parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app_->exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app_->exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app_->exit(e);
  } catch (const CLI::ParseError& e) {
    diag::error("{}", e.what());
    std::string hint = fmt::format("{}: run '{} --help' for usage\n", name_, name_);
    std::fputs(hint.c_str(), stderr);
    return kExitUsage;
  }
  diag::set_verbosity(verbosity());
  // A closed pipe downstream (`| head`) shows up as EPIPE from write(2), which
  // the stream writer turns into a quiet, successful stop.
  std::signal(SIGPIPE, SIG_IGN);
  Status status;
  try {
    status = body();
  } catch (const std::exception& e) {
    status = Status::Internal(std::string("unexpected exception: ") + e.what());
  }
  if (!status.ok() && status.code() != Code::kBrokenPipe) diag::error("{}", status.message());
  return exit_code_for(status);
}

Result<long long> parse_count(std::string_view text) {
  std::string s(text);
  if (s.empty()) return Status::Invalid("empty number");
  double scale = 1;
  switch (s.back()) {
    case 'k':
    case 'K':
      scale = 1e3;
      s.pop_back();
      break;
    case 'M':
      scale = 1e6;
      s.pop_back();
      break;
    case 'G':
      scale = 1e9;
      s.pop_back();
      break;
    default:
      break;
  }
  char* end = nullptr;
  errno = 0;
  // Plain integers go through strtoll so values past 2^53 stay exact.
  long long as_int = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0' && errno == 0) {
    double scaled = static_cast<double>(as_int) * scale;
    if (scale == 1) return as_int;
    if (std::fabs(scaled) < 9.2e18) return static_cast<long long>(scaled);
    return Status::Invalid(fmt::format("number out of range: '{}'", text));
  }
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(d))
    return Status::Invalid(fmt::format("not a number: '{}'", text));
  d *= scale;
  if (std::fabs(d) >= 9.2e18)
    return Status::Invalid(fmt::format("number out of range: '{}'", text));
  if (d != std::floor(d)) return Status::Invalid(fmt::format("not a whole number: '{}'", text));
  return static_cast<long long>(d);
}

Result<double> parse_seconds(std::string_view text) {
  std::string s(text);
  double scale = 1;
  auto ends_with = [&](std::string_view suffix) {
    return s.size() > suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with("ms")) {
    scale = 1e-3;
    s.resize(s.size() - 2);
  } else if (ends_with("s")) {
    s.pop_back();
  } else if (ends_with("m")) {
    scale = 60;
    s.pop_back();
  } else if (ends_with("h")) {
    scale = 3600;
    s.pop_back();
  }
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(d) || d < 0)
    return Status::Invalid(fmt::format("not a duration: '{}' (try 30, 1.5s, 250ms, 2m)", text));
  return d * scale;
}

CLI::Validator seconds_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto r = parse_seconds(value);
        return r.ok() ? std::string() : r.status().message();
      },
      "DURATION");
}

}  // namespace w::cli
