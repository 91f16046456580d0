// wgen: generate datasets on stdout, one generator per subcommand.
#include <unistd.h>

#include "w/cli.h"
#include "w/gen.h"

namespace {

constexpr const char* kExamples =
    "  wgen range 0 10000 --step 100                  # {\"min\":0,\"max\":100} ...\n"
    "  wgen range 0 1e9 --chunks 1000 -f msgpack\n"
    "  wgen grid lr=0.1,0.03,0.01 hidden=8,16,32       # 9 parameter sets\n"
    "  wgen grid n=1..100:10 mode=fast,exact\n"
    "  wgen seeds 64 --base 1000\n"
    "  wgen blocks 2x2 --size 256x256 --halo 1\n"
    "  wgen lines words.txt --batch 100\n"
    "  wgen csv runs.csv --header\n"
    "  wgen files 'images/*.png'\n"
    "  wgen kernel mygen.so --static '{\"n\":1000}'\n";

struct Options {
  std::string format = "json", from, to, step, chunks, n, base = "0", dims, size, path, timeout = "5s", static_arg;
  std::vector<std::string> axes;
  long long batch = 1;
  int halo = 0;
  bool header = false;
};

w::Result<long long> count(const std::string& text, const char* what) {
  auto v = w::cli::parse_count(text);
  if (!v.ok()) return w::Status(w::Code::kUsage, std::string(what) + ": " + v.status().message());
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  w::cli::Program prog("wgen", "Generate datasets on stdout (JSON Lines, or msgpack with -f msgpack).", kExamples);
  CLI::App& app = prog.app();
  app.require_subcommand(1);
  Options o;
  app.add_option("-f,--format", o.format, "Output format: json or msgpack")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "jsonl", "msgpack"}));
  std::function<w::Status(w::stream::RecordWriter&)> action;

  CLI::App* range = app.add_subcommand("range", "Chunks {\"min\",\"max\"} of [FROM, TO)");
  range->add_option("from", o.from, "First number (1e9, 10k and 2M are fine)")->required();
  range->add_option("to", o.to, "End, not included")->required();
  range->add_option("--step", o.step, "Width of each chunk");
  range->add_option("--chunks", o.chunks, "Number of chunks instead of a width");
  range->callback([&] {
    action = [&](w::stream::RecordWriter& out) -> w::Status {
      w::gen::RangeOptions r;
      auto from = count(o.from, "FROM"), to = count(o.to, "TO");
      if (!from.ok()) return from.status();
      if (!to.ok()) return to.status();
      r.from = *from, r.to = *to;
      if (!o.step.empty()) {
        auto s = count(o.step, "--step");
        if (!s.ok()) return s.status();
        if (*s <= 0) return w::Status(w::Code::kUsage, "--step must be positive");
        r.step = *s;
      }
      if (!o.chunks.empty()) {
        auto c = count(o.chunks, "--chunks");
        if (!c.ok()) return c.status();
        if (*c <= 0) return w::Status(w::Code::kUsage, "--chunks must be positive");
        r.chunks = *c;
      }
      return w::gen::range(r, out);
    };
  });

  CLI::App* grid = app.add_subcommand("grid", "Every combination of parameters (the last varies fastest)");
  grid->add_option("axes", o.axes, "key=v1,v2,... or key=a..b[:step]")->required();
  grid->callback([&] {
    action = [&](w::stream::RecordWriter& out) -> w::Status {
      std::vector<w::gen::GridAxis> axes;
      for (const auto& spec : o.axes) {
        auto axis = w::gen::parse_grid_axis(spec);
        if (!axis.ok()) return axis.status();
        axes.push_back(std::move(*axis));
      }
      return w::gen::grid(axes, out);
    };
  });

  CLI::App* seeds = app.add_subcommand("seeds", "N records {\"seed\": BASE+i, \"index\": i}");
  seeds->add_option("n", o.n, "How many")->required();
  seeds->add_option("--base", o.base, "First seed")->capture_default_str();
  seeds->callback([&] {
    action = [&](w::stream::RecordWriter& out) -> w::Status {
      auto n = count(o.n, "N"), base = count(o.base, "--base");
      if (!n.ok()) return n.status();
      if (!base.ok()) return base.status();
      return w::gen::seeds(*n, *base, out);
    };
  });

  CLI::App* blocks = app.add_subcommand("blocks", "2-D domain decomposition: R x C blocks of N x M cells");
  blocks->add_option("grid", o.dims, "Blocks, RxC (e.g. 2x4)")->required();
  blocks->add_option("--size", o.size, "Cells per block, NxM (rows x columns)")->required();
  blocks->add_option("--halo", o.halo, "Halo width in cells")->capture_default_str()->check(CLI::Range(0, 1 << 20));
  blocks->callback([&] {
    action = [&](w::stream::RecordWriter& out) -> w::Status {
      auto g = w::gen::parse_dims(o.dims), s = w::gen::parse_dims(o.size);
      if (!g.ok()) return g.status();
      if (!s.ok()) return s.status();
      if (g->first * g->second > 100'000'000) return w::Status(w::Code::kUsage, "blocks: too many blocks");
      w::gen::BlocksOptions b;
      b.rows = static_cast<int>(g->first), b.cols = static_cast<int>(g->second);
      b.height = s->first, b.width = s->second, b.halo = o.halo;
      return w::gen::blocks(b, out);
    };
  });

  CLI::App* lines = app.add_subcommand("lines", "One record per line of FILE (- for stdin)");
  lines->add_option("file", o.path, "Text file")->required();
  lines->add_option("--batch", o.batch, "Lines per record")->capture_default_str()->check(CLI::Range(1LL, 10'000'000LL));
  lines->callback([&] { action = [&](w::stream::RecordWriter& out) { return w::gen::lines(o.path, o.batch, out); }; });

  CLI::App* csv = app.add_subcommand("csv", "One record per CSV row (RFC 4180 quoting; numbers typed)");
  csv->add_option("file", o.path, "CSV file (- for stdin)")->required();
  csv->add_option("--batch", o.batch, "Rows per record")->capture_default_str()->check(CLI::Range(1LL, 10'000'000LL));
  csv->add_flag("--header", o.header, "The first row names the columns");
  csv->callback([&] { action = [&](w::stream::RecordWriter& out) { return w::gen::csv(o.path, o.batch, o.header, out); }; });

  CLI::App* files = app.add_subcommand("files", "One record per file matching GLOB, bytes included");
  files->add_option("glob", o.path, "Pattern, quoted so the shell leaves it alone")->required();
  files->callback([&] { action = [&](w::stream::RecordWriter& out) { return w::gen::files(o.path, out); }; });

  CLI::App* kernel = app.add_subcommand("kernel", "Datasets from a generator kernel, run sandboxed");
  kernel->add_option("kernel", o.path, "Generator kernel .so")->required();
  kernel->add_option("--static", o.static_arg, "Its static dataset: a JSON text or a file");
  kernel->add_option("--timeout", o.timeout, "Limit per call")->capture_default_str()->check(w::cli::seconds_validator());
  kernel->callback([&] {
    action = [&](w::stream::RecordWriter& out) {
      w::gen::KernelOptions k;
      k.kernel = o.path, k.static_arg = o.static_arg, k.timeout = *w::cli::parse_seconds(o.timeout);
      return w::gen::kernel(k, out);
    };
  });

  return prog.run(argc, argv, [&]() -> w::Status {
    w::stream::RecordWriter out(STDOUT_FILENO, *w::stream::parse_format(o.format));
    W_RETURN_IF_ERROR(action(out));
    return out.flush();
  });
}
