// `PROGRAM secret new FILE`: the one command every server that mints
// capabilities (wpool, wsql, wsig) offers to make its secret. Written once
// so the three cannot drift: same argument, same refusal to overwrite,
// same file mode (w::cap::create_secret).
#pragma once

#include <string>
#include <string_view>

#include "w/cap.h"
#include "w/cli.h"

namespace w::tools {

/// The `new` subcommand of a `secret` command table: its one argument goes
/// to `Options::*kFile`. `help` and `examples` name the program's flags.
template <class Options, std::string Options::*kFile>
constexpr cli::Command<Options> secret_new_command(std::string_view help,
                                                   std::string_view examples) {
  return {.name = "new",
          .help = help,
          .options =
              [](CLI::App& app, Options& o) {
                app.add_option("file", o.*kFile, "The secret file to create (never overwritten)")
                    ->required();
              },
          .run = [](Options& o) { return cap::create_secret(o.*kFile); },
          .examples = examples};
}

}  // namespace w::tools
