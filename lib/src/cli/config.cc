// Config files that scope (issue 15). CLI11 applies a section's keys to
// that subcommand's options, but several subcommands bind one variable
// (every client command's --pool sets the same ClientOptions), so `[wait]
// pool = ...` also changed `status`; and keys no option has were dropped
// without a word. This reader of TOML/INI files, run by CLI11 after the
// command line is parsed (so the command being run is known):
//   - keeps the keys of the sections of the command being run and of its
//     parents ([wait] or [wpool.wait] for `wpool wait`), drops the others;
//   - gives a top-level key to the deepest command being run that has the
//     option, and drops it when only another command has it;
//   - refuses, naming FILE:LINE, an unknown section or a key no option has;
//   - drops a key whose option's environment variable is set, since the
//     environment wins over the file (CLI11 reads the file first).
#include <cstdlib>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "w/cli.h"

namespace w::cli::detail {
namespace {

std::string trim(std::string s) {
  const char* space = " \t\r";
  s.erase(0, s.find_first_not_of(space));
  s.erase(s.find_last_not_of(space) + 1);
  return s;
}

// The option `name` names in `app` (--name, -n, or a positional), or null.
const CLI::Option* find_option(CLI::App& app, const std::string& name) {
  const CLI::Option* op = app.get_option_no_throw("--" + name);
  if (!op && name.size() == 1) op = app.get_option_no_throw("-" + name);
  if (!op) op = app.get_option_no_throw(name);
  return op;
}

CLI::App* find_subcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands({}))
    if (!sub->get_name().empty() && sub->get_name() == name) return sub;
  return nullptr;
}

// Whether `app` or a command below it has the option.
bool anywhere(CLI::App& app, const std::string& name) {
  if (find_option(app, name)) return true;
  for (CLI::App* sub : app.get_subcommands({}))
    if (anywhere(*sub, name)) return true;
  return false;
}

// The 1-based line of `item` in `text`: its key (section.key), or the
// section's header for CLI11's section markers ("++", "--"); 0 when not
// found (a key CLI11 made up, e.g. from a line without '=').
int line_of(const std::string& text, const CLI::ConfigItem& item) {
  const bool header = item.name == "++" || item.name == "--";
  const std::string fullname = header ? CLI::detail::join(item.parents, ".") : item.fullname();
  std::istringstream in(text);
  std::string line, section;
  for (int n = 1; std::getline(in, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = trim(line.substr(1, line.find(']') - 1));
      if (header && section == fullname) return n;
      continue;
    }
    std::string key = trim(line.substr(0, line.find('=')));
    if (key.size() >= 2 && (key.front() == '"' || key.front() == '\''))
      key = key.substr(1, key.size() - 2);
    std::string name = section;
    if (!name.empty()) name += '.';
    name += key;
    if (name == fullname) return n;
  }
  return 0;
}

class ScopedConfig : public CLI::ConfigTOML {
 public:
  ScopedConfig(CLI::App& root, std::string program, std::shared_ptr<ConfigOrigins> origins)
      : root_(&root), program_(std::move(program)), origins_(std::move(origins)) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::string text(std::istreambuf_iterator<char>(input), {});
    std::istringstream copy(text);
    std::vector<CLI::ConfigItem> kept;
    for (CLI::ConfigItem& item : CLI::ConfigTOML::from_config(copy)) {
      if (!keep(item, text)) continue;
      if (origins_ && item.name != "++" && item.name != "--")
        (*origins_)[item.fullname()] = fmt::format("{}:{}", file(), line_of(text, item));
      kept.push_back(std::move(item));
    }
    return kept;
  }

 private:
  // The command being run and its parents, root first.
  std::vector<CLI::App*> running() const {
    std::vector<CLI::App*> chain{root_};
    for (auto parsed = root_->get_subcommands(); !parsed.empty();
         parsed = chain.back()->get_subcommands())
      chain.push_back(parsed.front());
    return chain;
  }

  std::string file() const {
    const CLI::Option* opt = root_->get_config_ptr();
    if (opt == nullptr) return "config";
    return opt->results().empty() ? opt->get_default_str() : opt->results().front();
  }

  [[noreturn]] void refuse(const std::string& text, const CLI::ConfigItem& item,
                           const std::string& what) const {
    const int line = line_of(text, item);
    throw CLI::ConfigError(line > 0 ? fmt::format("{}:{}: {}", file(), line, what)
                                    : fmt::format("{}: {}", file(), what));
  }

  // Whether the environment sets the option (it wins over the file).
  static bool from_environment(const CLI::Option& op) {
    return !op.get_envname().empty() && std::getenv(op.get_envname().c_str()) != nullptr;
  }

  bool keep(CLI::ConfigItem& item, const std::string& text) const {
    std::vector<std::string> section = item.parents;
    if (!section.empty() && section.front() == program_) section.erase(section.begin());
    const std::vector<CLI::App*> chain = running();
    if (section.empty()) {
      if (item.name == "++" || item.name == "--") return true;
      // Deepest first: `timeout` at the top is `wait --timeout` for wait.
      for (std::size_t depth = chain.size(); depth-- > 0;) {
        const CLI::Option* op = find_option(*chain[depth], item.name);
        if (op == nullptr) continue;
        item.parents.clear();
        for (std::size_t d = 1; d <= depth; ++d) item.parents.push_back(chain[d]->get_name());
        return !from_environment(*op);
      }
      if (anywhere(*root_, item.name)) return false;  // another command's setting
      refuse(text, item, fmt::format("unknown key '{}': no {} option has it", item.name, program_));
    }
    CLI::App* at = root_;
    bool on_chain = true;
    for (std::size_t i = 0; i < section.size(); ++i) {
      at = find_subcommand(*at, section[i]);
      if (at == nullptr)
        refuse(
            text, item,
            fmt::format("unknown section [{}]: no '{} {}' command", CLI::detail::join(section, "."),
                        program_, CLI::detail::join(section, " ")));
      on_chain = on_chain && i + 1 < chain.size() && chain[i + 1] == at;
    }
    item.parents = section;
    if (item.name == "++" || item.name == "--") return on_chain;
    const CLI::Option* op = find_option(*at, item.name);
    if (op == nullptr)
      refuse(text, item,
             fmt::format("unknown key '{}' in [{}]", item.name, CLI::detail::join(section, ".")));
    return on_chain && !from_environment(*op);
  }

  CLI::App* root_;
  std::string program_;
  std::shared_ptr<ConfigOrigins> origins_;
};

}  // namespace

std::shared_ptr<CLI::Config> scoped_config(CLI::App& root, std::string program,
                                           std::shared_ptr<ConfigOrigins> origins) {
  return std::make_shared<ScopedConfig>(root, std::move(program), std::move(origins));
}

}  // namespace w::cli::detail
