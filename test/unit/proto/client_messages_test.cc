#include "../../../lib/src/proto/client_messages.h"

#include <catch2/catch.hpp>

#include "wire_cases.h"

using namespace w::proto;
using namespace w::proto::test;

namespace {

const std::string kSha(64, 'b');

Json open_json() {
  return {{"t", "open"},
          {"name", "primes"},
          {"kernel", kSha},
          {"kernel_wasm", ""},
          {"static", {{"n", 1}}},
          {"timeout_ms", 1000},
          {"max_attempts", 3},
          {"replicas", 3},
          {"quorum", 2},
          {"priority", 0},
          {"group", 1},
          {"once_key", "k1"},
          {"quorum_tolerance", 1e-9},
          {"speculate", false}};
}

}  // namespace

TEST_CASE("client hello and kernel_put: every field is checked and named") {
  // A client hello's version and credentials; an upload's bin data and names.
  check_fields(W_STATUS_OF(decode_client_hello), "hello",
               {{"t", "hello"}, {"v", 1}, {"role", "client"}, {"key", ""}, {"cap", "c"}},
               {{"v", {}, true, {0, 2}},
                {"role", {"string"}, false, {"a b"}},
                {"key", {"string"}},
                {"cap", {"string"}, false, {std::string(kMaxCredential + 1, 'c')}}});
  check_fields(W_STATUS_OF(decode_kernel_put), "kernel_put",
               {{"t", "kernel_put"},
                {"name", "k.so"},
                {"platform", "linux-x86_64"},
                {"campaign", "c"},
                {"data", bin({0x7f, 'E', 'L', 'F'})}},
               {{"name", {"string"}, false, {std::string(kMaxName + 1, 'n')}},
                {"platform", {"string"}, false, {"", "x/y"}},
                {"campaign", {"string"}},
                {"data", {"bin"}, true}});
}

TEST_CASE("open: every setting is checked against its range") {
  // replicas 1..16, quorum 0..replicas, group 1..1024 and not with replicas.
  check_fields(W_STATUS_OF(decode_open), "open", open_json(),
               {{"name", {"string"}, true, {""}},
                {"kernel", {}, false, {std::string(64, 'B')}},
                {"kernel_wasm", {}, false, {"abc"}},
                {"timeout_ms", {"int"}, false, {kMaxTimeoutMs + 1}},
                {"max_attempts", {"int"}, false, {0, kMaxAttempts + 1}},
                {"replicas", {"int"}, false, {0, kMaxReplicas + 1}},
                {"quorum", {}, false, {4}},
                {"priority", {"int", "negative"}, false, {int64_t{1} << 40}},
                {"group", {"int"}, false, {0, kMaxGroup + 1}},
                {"once_key", {"string"}},
                {"quorum_tolerance", {}, false, {-0.1, 1.5}},
                {"speculate", {"bool"}}});
  check_fields(W_STATUS_OF(decode_unflag), "unflag", {{"t", "unflag"}, {"worker", "k-1"}},
               {{"worker", {"string"}, true, {""}}});
  Json coupled = open_json();
  coupled["group"] = 4;
  auto r = decode_open(kept(pack(coupled)));
  CHECK(r.status().message() == "open: group: a coupled campaign (group) cannot have replicas");
}

TEST_CASE("open: what a submit sends comes back as sent") {
  // The client's encoder and the pool's decoder agree on every field.
  Open o;
  o.name = "c";
  o.kernel = kSha;
  const std::string st = pack({{"k", 1}});
  o.static_data = st;
  o.timeout_ms = 5000;
  o.max_attempts = 2;
  o.replicas = 3;
  o.quorum = 0;
  o.priority = -4;
  o.once_key = "nightly";
  o.speculate = false;
  auto r = decode_open(kept(encode(o)));
  REQUIRE(r.ok());
  CHECK(r->name == "c");
  CHECK(r->kernel == kSha);
  CHECK(r->kernel_wasm.empty());
  CHECK(r->static_data == st);
  CHECK(r->timeout_ms == 5000);
  CHECK(r->replicas == 3);
  CHECK(r->quorum == 0);
  CHECK(r->priority == -4);
  CHECK(r->once_key == "nightly");
  CHECK(!r->speculate);
  Open no_static;
  no_static.name = "d";
  auto n = decode_open(kept(encode(no_static)));
  REQUIRE(n.ok());
  CHECK(n->static_data.empty());  // nil is none
  CHECK(n->speculate);            // on unless turned off
}

TEST_CASE("datasets, status, results and control: fields checked and named") {
  // Every dataset is a map; results pages are bounded; actions are a list.
  check_fields(
      W_STATUS_OF(decode_datasets), "datasets",
      {{"t", "datasets"}, {"campaign", 1}, {"items", {{{"x", 1}}, {{"x", 2}}}}},
      {{"campaign", {"int"}, true, {0}}, {"items", {"array"}, true}, {"items/1", {"map"}}});
  check_fields(W_STATUS_OF(decode_status_query), "status", {{"t", "status"}, {"campaign", "c"}},
               {{"campaign", {"string"}}});
  check_fields(W_STATUS_OF(decode_results_query), "results",
               {{"t", "results"}, {"campaign", "c"}, {"since", 0}, {"limit", 10}, {"after", -1}},
               {{"campaign", {"string"}, true},
                {"since", {"int"}},
                {"limit", {"int"}, false, {0, kMaxResultsPage + 1}},
                {"after", {"int"}, false, {-2}}});
  check_fields(W_STATUS_OF(decode_control), "control",
               {{"t", "control"}, {"action", "pause"}, {"campaign", "c"}},
               {{"action", {}, true, {"explode"}}, {"campaign", {"string"}, true}});
}

TEST_CASE("decode_from_client: each request reaches its struct") {
  // Requests without fields decode too; unknown types are refused naming t.
  CHECK(std::holds_alternative<WorkersQuery>(*decode_from_client(kept(encode(WorkersQuery{})))));
  CHECK(std::holds_alternative<KernelsQuery>(*decode_from_client(kept(encode(KernelsQuery{})))));
  CHECK(std::holds_alternative<Control>(*decode_from_client(kept(encode(Control{"delete", "c"})))));
  auto q = decode_from_client(kept(encode(ResultsQuery{"c", 10, 50, 77})));
  REQUIRE(q.ok());
  CHECK(std::get<ResultsQuery>(*q).after == 77);
  CHECK(std::get<ResultsQuery>(*q).limit == 50);
  auto d = decode_from_client(kept(encode_datasets(2, 2, pack({{"a", 1}}) + pack({{"b", 2}}))));
  REQUIRE(d.ok());
  CHECK(std::get<Datasets>(*d).items.size() == 2);
  CHECK(decode_from_client(kept(pack({{"t", "drop_tables"}}))).status().message() ==
        "message: t: unknown message type 'drop_tables'");
}

TEST_CASE("pool to client: answers are checked before use") {
  // The client reads the pool's answers through decoders as well.
  auto opened = decode_opened(kept(encode(Opened{3, 10, true})));
  REQUIRE(opened.ok());
  CHECK(opened->campaign == 3);
  CHECK(opened->next_seq == 10);
  CHECK(opened->skip);
  check_fields(W_STATUS_OF(decode_opened), "opened",
               {{"t", "opened"}, {"campaign", 3}, {"next_seq", 0}, {"skip", false}},
               {{"campaign", {"int"}, true, {0}}, {"next_seq", {"int"}}, {"skip", {"bool"}}});
  check_fields(W_STATUS_OF(decode_ack), "ack", {{"t", "ack"}, {"count", 2}, {"total", 5}},
               {{"count", {"int"}, true}, {"total", {"int"}, true}});
  check_fields(W_STATUS_OF(decode_kernel_stored), "kernel", {{"t", "kernel"}, {"sha256", kSha}},
               {{"sha256", {}, true}});
  check_fields(W_STATUS_OF(decode_status_answer), "status",
               {{"t", "status"}, {"status", {{"campaigns", Json::array()}}}},
               {{"status", {"map"}, true}});
  check_fields(
      W_STATUS_OF(decode_results_page), "results",
      {{"t", "results"}, {"items", {{{"task", 1}}}}, {"next", 1}, {"after", 4}, {"complete", true}},
      {{"items", {"array"}, true},
       {"items/0", {"map"}},
       {"next", {"int"}, true},
       {"after", {"int"}, false, {-2}},
       {"complete", {"bool"}}});
  KernelList list;
  list.items.push_back({kSha, "k.so", "linux-x86_64", 100});
  auto k = decode_kernel_list(kept(encode(list)));
  REQUIRE(k.ok());
  REQUIRE(k->items.size() == 1);
  CHECK(k->items[0].size == 100);
  check_fields(
      W_STATUS_OF(decode_kernel_list), "kernels",
      {{"t", "kernels"},
       {"items", {{{"sha256", kSha}, {"name", "k"}, {"platform", "wasm32"}, {"size", 1}}}}},
      {{"items", {"array"}, true}, {"items/0/sha256", {}, true}, {"items/0/size", {"int"}}});
  // A page of records: outputs pass through, a stored error that is not
  // UTF-8 (from an older pool) is cleaned on the way out.
  std::string items;
  w::mp::Packer pk(items);
  const std::string in = pack({{"x", 1}}), out = pack({{"y", 2}});
  append(pk, {1, 0, in, out, "", "w1", "linux-x86_64", 1.5});
  append(pk, {2, 1, in, "", "bad \xff", "w1", "linux-x86_64", 0});
  auto page = decode_results_page(kept(encode_results_page(2, items, 2, 9, true)));
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 2);
  CHECK(page->after == 9);
  CHECK(page->complete);
  const Json first = Json::from_msgpack(page->items[0]);
  CHECK(first["output"] == Json({{"y", 2}}));
  CHECK(first["worker"] == "w1");
  const Json second = Json::from_msgpack(page->items[1]);
  CHECK(second["error"] == "bad \xef\xbf\xbd");
  CHECK_FALSE(second.contains("output"));
  CHECK(decode_ok(kept(encode(Ok{}))).ok());
  CHECK_FALSE(decode_ok(kept(encode(Ack{1, 1}))).ok());
}
