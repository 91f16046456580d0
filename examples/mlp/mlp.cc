// mlp — train one small neural network per dataset: PSciLab's multi-model
// case study (§8.3), a hyper-parameter sweep where every model is a task.
//
//   static  {"train"?: [[x, y, label], ...], "test"?: [[x, y, label], ...],
//            "epochs"?: 200, "batch"?: 32, "layers"?: 2, "curve"?: 50}
//   dataset {"optimizer": "sgd" | "adam", "hidden": units per layer,
//            "lr": learning rate, "epochs"?, "batch"?, "layers"?, "seed"?: 1}
//   → {"optimizer", "hidden", "layers", "lr", "epochs", "batch", "seed",
//      "params", "loss": [mean training loss after each of at most "curve"
//      evenly spaced epochs], "final_loss", "train_acc", "test_acc",
//      "diverged": whether training stopped early on a loss that overflowed}
//
// Without "train" the kernel makes its own two spirals (see make_spirals).
// The network is `layers` fully connected tanh layers of `hidden` units
// between the two inputs and a softmax over the classes, trained by
// minibatch gradient descent on the cross-entropy (plain SGD, or Adam with
// β1 = 0.9, β2 = 0.999, ε = 1e-8). Initial weights and the order of the
// minibatches come from a generator written here, not <random>: the same
// dataset gives the same model bit for bit on every worker.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "w_kernel.hpp"

namespace {

using w::kernel::field;
constexpr double kPi = 3.14159265358979323846;

struct Sample {
  double x = 0, y = 0;
  int label = 0;
};

// The static dataset, parsed once per process by w_init.
struct Data {
  std::vector<Sample> train, test;
  int classes = 0;
};
Data& data() {
  static Data d;
  return d;
}

// splitmix64: a counter through a mixer (as in examples/pi).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

// Without a static dataset: two spirals as examples/mlp/spirals.py draws
// them (1.5 turns to radius 1, noise 0.03, every fourth pair held out), with
// this file's generator instead of Python's, so `wgen grid ... | wrun -k
// mlp.so` works on its own.
void make_spirals(Data& d, int n) {
  Rng rng{7};
  auto gauss = [&rng] {  // Box–Muller
    const double u = 1 - rng.unit(), v = rng.unit();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * kPi * v);
  };
  for (int i = 0; i < n; ++i) {
    const double r = 0.05 + 0.95 * std::sqrt((i + 0.5) / n), angle = r * 1.5 * 2 * kPi;
    for (int label = 0; label < 2; ++label) {
      const double a = angle + label * kPi;
      const Sample s{r * std::cos(a) + 0.03 * gauss(), r * std::sin(a) + 0.03 * gauss(), label};
      (i % 4 == 3 ? d.test : d.train).push_back(s);
    }
  }
  d.classes = 2;
}

bool has(const msgpack::object& map, std::string_view key) {
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object& k = map.via.map.ptr[i].key;
    if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key)
      return true;
  }
  return false;
}

std::vector<Sample> samples(const msgpack::object& view, const char* key) {
  std::vector<Sample> out;
  for (const auto& row : field<std::vector<std::vector<double>>>(view, key)) {
    if (row.size() != 3 || row[2] < 0 || row[2] > 255 || row[2] != std::floor(row[2]))
      throw std::runtime_error(std::string("static '") + key + "': rows are [x, y, label]");
    out.push_back({row[0], row[1], static_cast<int>(row[2])});
  }
  return out;
}

void init(const msgpack::object& view) {
  Data& d = data();
  if (view.type != msgpack::type::MAP || !has(view, "train")) return make_spirals(d, 200);
  d.train = samples(view, "train");
  d.test = samples(view, "test");
  for (const auto* set : {&d.train, &d.test})
    for (const Sample& s : *set) d.classes = std::max(d.classes, s.label + 1);
}

// One fully connected layer: out = W · in + b, W row-major (out × in), with
// its gradient and Adam's two moment estimates for every parameter.
struct Layer {
  int in = 0, out = 0;
  std::vector<double> w, grad, m, v;  // weights then biases: out * in + out
  double* bias() { return w.data() + out * in; }
};

struct Net {
  std::vector<Layer> layers;
  // Per layer, the activations of one sample: acts[0] the input, acts[k + 1]
  // what layer k gives (tanh, or the softmax for the last).
  std::vector<std::vector<double>> acts, deltas;

  Net(int inputs, int hidden, int depth, int classes, Rng& rng) {
    std::vector<int> sizes{inputs};
    for (int i = 0; i < depth; ++i) sizes.push_back(hidden);
    sizes.push_back(classes);
    for (size_t k = 0; k + 1 < sizes.size(); ++k) {
      Layer l;
      l.in = sizes[k];
      l.out = sizes[k + 1];
      const size_t n = static_cast<size_t>(l.out) * (l.in + 1);
      l.w.assign(n, 0.0);
      l.grad.assign(n, 0.0);
      l.m.assign(n, 0.0);
      l.v.assign(n, 0.0);
      // Glorot uniform weights, zero biases.
      const double limit = std::sqrt(6.0 / (l.in + l.out));
      for (int i = 0; i < l.out * l.in; ++i) l.w[i] = (2 * rng.unit() - 1) * limit;
      layers.push_back(std::move(l));
    }
    for (int s : sizes) {
      acts.emplace_back(s);
      deltas.emplace_back(s);
    }
  }

  size_t params() const {
    size_t n = 0;
    for (const Layer& l : layers) n += l.w.size();
    return n;
  }

  // Fills acts; returns the predicted class.
  int forward(const Sample& s) {
    acts[0][0] = s.x;
    acts[0][1] = s.y;
    for (size_t k = 0; k < layers.size(); ++k) {
      Layer& l = layers[k];
      const std::vector<double>& a = acts[k];
      std::vector<double>& z = acts[k + 1];
      for (int o = 0; o < l.out; ++o) {
        double sum = l.bias()[o];
        const double* row = l.w.data() + o * l.in;
        for (int i = 0; i < l.in; ++i) sum += row[i] * a[i];
        z[o] = sum;
      }
      if (k + 1 < layers.size()) {
        for (double& x : z) x = std::tanh(x);
      } else {  // softmax, shifted by the maximum so exp cannot overflow
        const double top = *std::max_element(z.begin(), z.end());
        double total = 0;
        for (double& x : z) total += (x = std::exp(x - top));
        for (double& x : z) x /= total;
      }
    }
    const std::vector<double>& p = acts.back();
    return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
  }

  // Forward and back for one sample, adding its gradient; returns its loss.
  double accumulate(const Sample& s) {
    forward(s);
    std::vector<double>& top = deltas.back();
    for (size_t c = 0; c < top.size(); ++c) top[c] = acts.back()[c] - (int(c) == s.label);
    for (size_t k = layers.size(); k-- > 0;) {
      Layer& l = layers[k];
      const std::vector<double>& a = acts[k];
      const std::vector<double>& d = deltas[k + 1];
      for (int o = 0; o < l.out; ++o) {
        double* g = l.grad.data() + o * l.in;
        for (int i = 0; i < l.in; ++i) g[i] += d[o] * a[i];
        l.grad[l.out * l.in + o] += d[o];
      }
      if (k == 0) break;
      std::vector<double>& below = deltas[k];
      for (int i = 0; i < l.in; ++i) {
        double sum = 0;
        for (int o = 0; o < l.out; ++o) sum += l.w[o * l.in + i] * d[o];
        below[i] = sum * (1 - a[i] * a[i]);  // tanh' = 1 - tanh²
      }
    }
    return -std::log(std::max(acts.back()[s.label], 1e-300));
  }

  // One step with the gradient summed over `batch` samples, then clears it.
  void step(bool adam, double lr, int batch, long t) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
    for (Layer& l : layers) {
      for (size_t i = 0; i < l.w.size(); ++i) {
        const double g = l.grad[i] / batch;
        if (adam) {
          l.m[i] = b1 * l.m[i] + (1 - b1) * g;
          l.v[i] = b2 * l.v[i] + (1 - b2) * g * g;
          l.w[i] -= lr * (l.m[i] / c1) / (std::sqrt(l.v[i] / c2) + eps);
        } else {
          l.w[i] -= lr * g;
        }
        l.grad[i] = 0;
      }
    }
  }

  double accuracy(const std::vector<Sample>& set) {
    if (set.empty()) return 0;
    size_t right = 0;
    for (const Sample& s : set) right += forward(s) == s.label;
    return static_cast<double>(right) / set.size();
  }
};

struct Model {
  std::string optimizer;
  int64_t hidden = 0, layers = 0, epochs = 0, batch = 0, seed = 0, params = 0;
  double lr = 0;
  std::vector<double> loss;
  double final_loss = 0, train_acc = 0, test_acc = 0;
  bool diverged = false;
  MSGPACK_DEFINE_MAP(optimizer, hidden, layers, lr, epochs, batch, seed, params, loss, final_loss,
                     train_acc, test_acc, diverged);
};

Model mlp(const msgpack::object& in) {
  const msgpack::object& view = w::kernel::static_data();
  Data& d = data();
  if (d.train.empty()) throw std::runtime_error("no training samples in the static dataset");
  Model m;
  m.optimizer = field<std::string>(in, "optimizer", "adam");
  if (m.optimizer != "sgd" && m.optimizer != "adam")
    throw std::runtime_error("optimizer '" + m.optimizer + "' is neither sgd nor adam");
  m.hidden = field<int64_t>(in, "hidden");
  m.lr = field<double>(in, "lr");
  m.layers = field<int64_t>(in, "layers", field<int64_t>(view, "layers", 2));
  m.epochs = field<int64_t>(in, "epochs", field<int64_t>(view, "epochs", 200));
  m.batch = field<int64_t>(in, "batch", field<int64_t>(view, "batch", 32));
  m.seed = field<int64_t>(in, "seed", 1);
  const int64_t points = field<int64_t>(view, "curve", 50);
  if (m.hidden < 1 || m.hidden > 1024) throw std::runtime_error("hidden must be 1 to 1024");
  if (m.layers < 1 || m.layers > 8) throw std::runtime_error("layers must be 1 to 8");
  if (m.epochs < 1 || m.epochs > 1000000) throw std::runtime_error("epochs must be 1 to 1e6");
  if (m.batch < 1) throw std::runtime_error("batch must be at least 1");
  if (!(m.lr > 0 && m.lr < 100)) throw std::runtime_error("lr must be in (0, 100)");

  Rng rng{static_cast<uint64_t>(m.seed)};
  Net net(2, static_cast<int>(m.hidden), static_cast<int>(m.layers), std::max(d.classes, 2), rng);
  m.params = static_cast<int64_t>(net.params());
  std::vector<size_t> order(d.train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  long t = 0;
  // Record the loss of `points` epochs spread evenly, always the last one.
  const int64_t every =
      std::max<int64_t>(1, (m.epochs + points - 1) / std::max<int64_t>(points, 1));
  for (int64_t e = 0; e < m.epochs; ++e) {
    for (size_t i = order.size(); i > 1; --i)  // Fisher–Yates
      std::swap(order[i - 1], order[rng.next() % i]);
    double total = 0;
    for (size_t start = 0; start < order.size(); start += m.batch) {
      const size_t end = std::min(order.size(), start + static_cast<size_t>(m.batch));
      for (size_t j = start; j < end; ++j) total += net.accumulate(d.train[order[j]]);
      net.step(m.optimizer == "adam", m.lr, static_cast<int>(end - start), ++t);
    }
    const double mean = total / order.size();
    if (!std::isfinite(mean)) {  // the weights blew up: report the model as it was
      m.diverged = true;
      break;
    }
    if ((e + 1) % every == 0 || e + 1 == m.epochs) m.loss.push_back(mean);
    m.final_loss = mean;
  }
  m.train_acc = net.accuracy(d.train);
  m.test_acc = net.accuracy(d.test);
  return m;
}

}  // namespace

W_KERNEL_WITH_INIT(init, mlp)
