// wgen: generate datasets on stdout, one generator per subcommand.
//
// main is a table of contents: kGenerators lists each subcommand with its
// help, its examples, the options it adds and the one library call it makes
// (w/gen.h). Numbers are checked while parsing (1e9, 10k and 2M are fine),
// so a generator only ever sees whole numbers.
#include <unistd.h>

#include "w/cli.h"
#include "w/gen.h"

namespace {

using Out = w::stream::RecordWriter;

// Everything a command line can set; each generator reads its own part.
struct Options {
  std::string format = "json";
  w::gen::RangeOptions range;
  w::gen::SeedsOptions seeds;
  std::vector<std::string> axes;
  std::string grid_dims, block_size;
  long long halo = 0;
  w::gen::LinesOptions lines;
  w::gen::CsvOptions csv;
  std::string glob;
  w::gen::KernelOptions kernel;
  std::string timeout = "5s";
};

// A count as people type it, rewritten to plain digits for CLI11 to convert.
CLI::Validator count() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto n = w::cli::parse_count(text);
        if (!n.ok()) return n.status().message();
        text = std::to_string(*n);
        return {};
      },
      "");
}

void add_range(CLI::App& c, Options& o) {
  c.add_option("FROM", o.range.from, "First number")->required()->transform(count());
  c.add_option("TO", o.range.to, "End of the range, not included")->required()->transform(count());
  c.add_option("--step", o.range.step, "Width of each chunk (the last one is clipped)")
      ->transform(count());
  c.add_option("--chunks", o.range.chunks, "Number of chunks instead of a width")
      ->transform(count());
}

void add_grid(CLI::App& c, Options& o) {
  c.add_option("AXES", o.axes, "key=v1,v2,... or key=a..b[:step], one per parameter")->required();
}

void add_seeds(CLI::App& c, Options& o) {
  c.add_option("N", o.seeds.n, "How many seeds")->required()->transform(count());
  c.add_option("--base", o.seeds.base, "The first seed")->capture_default_str()->transform(count());
}

void add_blocks(CLI::App& c, Options& o) {
  c.add_option("RxC", o.grid_dims, "Blocks: R rows of C blocks (e.g. 2x4)")->required();
  c.add_option("--size", o.block_size, "Cells per block: N rows of M cells, NxM")
      ->type_name("NxM")
      ->required();
  c.add_option("--halo", o.halo, "Ghost cells on each side of a block")
      ->capture_default_str()
      ->transform(count());
}

void add_lines(CLI::App& c, Options& o) {
  c.add_option("FILE", o.lines.path, "Text file; - reads stdin")->required();
  c.add_option("--batch", o.lines.batch, "Lines per record, as {\"lines\":[...],\"first\":n}")
      ->transform(count());
}

void add_csv(CLI::App& c, Options& o) {
  c.add_option("FILE", o.csv.path, "CSV file; - reads stdin")->required();
  c.add_option("--batch", o.csv.batch, "Rows per record, as {\"rows\":[...],\"first\":n}")
      ->transform(count());
  c.add_flag("--header", o.csv.header, "The first row names the fields");
}

void add_files(CLI::App& c, Options& o) {
  c.add_option("GLOB", o.glob, "Pattern, quoted so that the shell leaves it alone")->required();
}

void add_kernel(CLI::App& c, Options& o) {
  c.add_option("GEN.so", o.kernel.kernel, "Generator kernel (shared object)")->required();
  c.add_option("--static", o.kernel.static_arg, "Its static dataset: a JSON text or a file");
  c.add_option("--timeout", o.timeout, "Wall-clock limit per call (30, 1.5s, 250ms, 2m)")
      ->capture_default_str()
      ->check(w::cli::seconds_validator());
  c.add_flag("--insecure-sandbox", o.kernel.insecure_sandbox,
             "Without Landlock, run the kernel under seccomp alone (see wrun(1) SECURITY)");
}

w::Status run_grid(Options& o, Out& out) {
  std::vector<w::gen::GridAxis> axes;
  for (const std::string& spec : o.axes) {
    auto axis = w::gen::parse_grid_axis(spec);
    if (!axis.ok()) return axis.status();
    axes.push_back(std::move(*axis));
  }
  return w::gen::grid(axes, out);
}

w::Status run_blocks(Options& o, Out& out) {
  auto grid = w::gen::parse_dims(o.grid_dims), size = w::gen::parse_dims(o.block_size);
  if (!grid.ok()) return grid.status();
  if (!size.ok()) return size.status().with_context("--size");
  return w::gen::blocks({grid->first, grid->second, size->first, size->second, o.halo}, out);
}

w::Status run_kernel(Options& o, Out& out) {
  o.kernel.timeout = *w::cli::parse_seconds(o.timeout);
  return w::gen::kernel(o.kernel, out);
}

struct Generator {
  const char* name;
  const char* help;
  const char* examples;
  void (*add_options)(CLI::App&, Options&);
  w::Status (*run)(Options&, Out&);
};

const Generator kGenerators[] = {
    {"range", "Chunks {\"min\",\"max\"} of [FROM, TO): give --step or --chunks",
     "  wgen range 0 10000 --step 100        # {\"min\":0,\"max\":100} ... {\"min\":9900,...}\n"
     "  wgen range 0 1e9 --chunks 1000 -f msgpack > ranges.msgpack\n",
     add_range, [](Options& o, Out& out) { return w::gen::range(o.range, out); }},
    {"grid", "Every combination of parameters, the last varying fastest",
     "  wgen grid lr=0.1,0.03,0.01 hidden=8,16,32   # 9 records\n"
     "  wgen grid n=1..100:10 x=0..1:0.25 mode=fast,exact\n",
     add_grid, run_grid},
    {"seeds", "N records {\"seed\": BASE+i, \"index\": i}", "  wgen seeds 64 --base 1000\n",
     add_seeds, [](Options& o, Out& out) { return w::gen::seeds(o.seeds, out); }},
    {"blocks", "2-D domain decomposition: RxC blocks of NxM cells, with neighbours",
     "  wgen blocks 2x2 --size 256x256 --halo 1\n", add_blocks, run_blocks},
    {"lines", "One record per line of FILE",
     "  wgen lines words.txt\n  ls | wgen lines - --batch 100\n", add_lines,
     [](Options& o, Out& out) { return w::gen::lines(o.lines, out); }},
    {"csv", "One record per CSV row (RFC 4180 quoting, numbers typed)",
     "  wgen csv runs.csv --header\n  wgen csv big.csv --header --batch 1000 -f msgpack\n", add_csv,
     [](Options& o, Out& out) { return w::gen::csv(o.csv, out); }},
    {"files", "One record per file matching GLOB, its bytes included",
     "  wgen files 'images/*.png'\n", add_files,
     [](Options& o, Out& out) { return w::gen::files(o.glob, out); }},
    {"kernel", "Datasets made by a generator kernel, run sandboxed",
     "  wgen kernel mygen.so --static '{\"n\":1000}' --timeout 10s\n", add_kernel, run_kernel},
};

std::string all_examples() {
  std::string text;
  for (const Generator& g : kGenerators) text += g.examples;
  return text;
}

}  // namespace

// CLI11 throws while the flags are declared only for a programming error (a
// flag named twice), which every test run would hit: terminating is right.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  w::cli::Program prog("wgen",
                       "Generate datasets on stdout: JSON Lines, or msgpack with -f msgpack.",
                       all_examples());
  CLI::App& app = prog.app();
  Options o;
  app.require_subcommand(1);
  app.add_option("-f,--format", o.format, "Output format: json (JSON Lines) or msgpack")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "jsonl", "msgpack"}));
  for (const Generator& g : kGenerators) {
    CLI::App* sub = app.add_subcommand(g.name, g.help);
    sub->footer(std::string("\nExamples:\n") + g.examples);
    g.add_options(*sub, o);
  }
  return prog.run(argc, argv, [&]() -> w::Status {
    Out out(STDOUT_FILENO, *w::stream::parse_format(o.format));
    for (const Generator& g : kGenerators)
      if (app.got_subcommand(g.name)) W_RETURN_IF_ERROR(g.run(o, out));
    return out.flush();
  });
}
