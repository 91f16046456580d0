#include "w/cli.h"

#include <algorithm>
#include <cctype>
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
  config_origins_ = std::make_shared<detail::ConfigOrigins>();
  app_->config_formatter(detail::scoped_config(*app_, name_, config_origins_));
  app_->add_flag("--print-config", print_config_,
                 "Print the command's settings and where each came from, then exit");
  app_->add_flag("-v,--verbose", verbose_, "Say more on stderr (repeat for more)");
  app_->add_flag("-q,--quiet", quiet_, "Only errors on stderr");
  if (!examples.empty()) app_->footer("\nExamples:\n" + std::move(examples));
  app_->get_formatter()->column_width(34);
  app_->fallthrough();  // -v, -q, -f ... also after a subcommand
}

namespace {

// The few variables every program reads under one name: where the pool is
// and how to reach it (W_CONFIG and W_KERNEL_PATH are read elsewhere). Every
// other option is the program's own, so W_TIMEOUT set for one tool cannot
// change another's.
constexpr std::string_view kSharedOptions[] = {"pool", "cap", "cacert"};

bool is_shared(std::string_view lname) {
  return std::find(std::begin(kSharedOptions), std::end(kSharedOptions), lname) !=
         std::end(kSharedOptions);
}

// "retry-for" -> "RETRY_FOR".
std::string env_suffix(std::string_view text) {
  std::string out;
  for (char c : text) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

// Options that have no variable: --insecure (no TLS verification) only ever
// from the command line, since a variable left in an environment would turn
// it off unseen; help, version and config are not settings.
bool has_environment(const CLI::Option& opt) {
  if (opt.get_lnames().empty()) return false;
  const std::string& lname = opt.get_lnames().front();
  return lname != "help" && lname != "version" && lname != "config" && lname != "help-all" &&
         lname != "insecure";
}

// The word given where a command belongs, when CLI11 stopped at one ("A
// subcommand is required", "The following argument was not expected"):
// the first argument left over that is neither an option nor, perhaps, an
// option's value, when the deepest command parsed has subcommands. Empty
// when there is none.
std::string unknown_command(CLI::App& app) {
  CLI::App* at = &app;
  for (std::vector<CLI::App*> parsed = at->get_subcommands(); !parsed.empty();
       parsed = at->get_subcommands())
    at = parsed.front();
  if (at->get_subcommands({}).empty()) return {};
  bool after_option = false;  // `wpool --pool URL frob`: URL is no command
  for (const std::string& word : app.remaining(true)) {
    if (!word.empty() && word[0] != '-' && !after_option) return word;
    after_option = !word.empty() && word[0] == '-' && word.find('=') == std::string::npos;
  }
  return {};
}

}  // namespace

std::string Program::environment_name(std::string_view lname) const {
  return (is_shared(lname) ? std::string("W") : env_suffix(name_)) + "_" + env_suffix(lname);
}

void Program::bind_environment(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (!has_environment(*opt) || !opt->get_envname().empty()) continue;
    opt->envname(environment_name(opt->get_lnames().front()));
  }
  for (CLI::App* sub : app.get_subcommands({})) {
    // CLI11 reads the environment of every subcommand, used or not, unless it
    // has a parse-complete callback; options bound to one variable in several
    // subcommands (--pool) would otherwise let W_POOL beat the flag.
    if (!sub->get_name().empty()) sub->parse_complete_callback([] {});
    bind_environment(*sub);
  }
}

// Every option used to be W_<NAME>; a variable still set under such
// a name would now be ignored without a word, so it is refused, naming the
// variable that replaced it.
Status Program::check_old_environment(const CLI::App& app) const {
  for (const CLI::Option* opt : app.get_options()) {
    if (!has_environment(*opt)) continue;
    const std::string& lname = opt->get_lnames().front();
    if (is_shared(lname)) continue;
    std::string old = "W_" + env_suffix(lname);
    if (std::getenv(old.c_str()) != nullptr)
      return Status(Code::kUsage,
                    fmt::format("{} is no longer read: use {}", old, environment_name(lname)));
  }
  for (const CLI::App* sub : app.get_subcommands({}))
    W_RETURN_IF_ERROR(check_old_environment(*sub));
  return Status();
}

int Program::run(int argc, char** argv, const std::function<Status()>& body,
                 const std::function<int(const Status&)>& exit_code) {
  bind_environment(*app_);
  if (Status old = check_old_environment(*app_); !old.ok()) {
    diag::error("{}", old.message());
    return kExitUsage;
  }
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
    if (std::string word = unknown_command(*app_); !word.empty())
      diag::error("unknown command '{}'", word);
    else
      diag::error("{}", e.what());
    std::string hint = fmt::format("{}: run '{} --help' for usage\n", name_, name_);
    std::fputs(hint.c_str(), stderr);
    return kExitUsage;
  }
  if (print_config_) {
    print_config(argc, argv);
    return kExitOk;
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
  return exit_code(status);
}

namespace {

// Whether argv names the option (--name, --name=..., -n, -nVALUE).
bool on_command_line(const CLI::Option& opt, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    for (const std::string& l : opt.get_lnames()) {
      if (!arg.starts_with("--") || arg.substr(2, l.size()) != l) continue;
      if (arg.size() == 2 + l.size() || arg[2 + l.size()] == '=') return true;
    }
    for (const std::string& s : opt.get_snames())
      if (arg.size() >= 2 && arg[0] == '-' && arg[1] != '-' && arg.substr(1, 1) == s) return true;
  }
  return false;
}

// A TOML value: numbers and booleans bare, everything else quoted.
std::string toml_value(const std::string& text) {
  if (text == "true" || text == "false") return text;
  if (!text.empty() && text.find_first_not_of("0123456789.-") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void Program::print_config(int argc, char** argv) const {
  // The command being run and its parents: their options are its settings.
  std::vector<CLI::App*> chain{app_.get()};
  for (auto parsed = app_->get_subcommands(); !parsed.empty();
       parsed = chain.back()->get_subcommands())
    chain.push_back(parsed.front());
  std::string path;  // "wait" or "kernel.add": the section of the config file
  std::string out = fmt::format("# {}: each setting, and where it came from\n", name_);
  for (std::size_t depth = 0; depth < chain.size(); ++depth) {
    if (depth > 0) {
      if (!path.empty()) path += '.';
      path += chain[depth]->get_name();
      out += fmt::format("\n[{}]\n", path);
    }
    for (const CLI::Option* opt : chain[depth]->get_options()) {
      if (opt->get_lnames().empty()) continue;
      const std::string& lname = opt->get_lnames().front();
      if (lname == "help" || lname == "help-all" || lname == "version" || lname == "config" ||
          lname == "print-config")
        continue;
      std::string value;
      for (const std::string& r : opt->results()) {
        if (!value.empty()) value += ',';
        value += r;
      }
      std::string key = path;
      if (!key.empty()) key += '.';
      key += lname;
      // CLI11 applies the file and then the environment only to an option
      // the command line left unset, so the command line is asked first.
      const bool given = opt->count() > 0;
      const bool typed = given && on_command_line(*opt, argc, argv);
      const auto in_file = config_origins_->find(key);
      const bool in_env =
          !opt->get_envname().empty() && std::getenv(opt->get_envname().c_str()) != nullptr;
      std::string origin = "command line";
      if (!given) {
        value = opt->get_default_str();
        if (value.empty() && opt->get_expected_min() == 0) value = "false";  // a flag not given
        origin = value.empty() ? "unset" : "default";
      } else if (!typed && in_file != config_origins_->end()) {
        origin = "config " + in_file->second;
      } else if (!typed && in_env) {
        origin = "environment " + opt->get_envname();
      }
      out += value.empty() ? fmt::format("# {} =   # {}\n", lname, origin)
                           : fmt::format("{} = {}   # {}\n", lname, toml_value(value), origin);
    }
  }
  std::fputs(out.c_str(), stdout);
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
