#include "../../../lib/src/proto/worker_messages.h"

#include <catch2/catch.hpp>

#include "wire_cases.h"

using namespace w::proto;
using namespace w::proto::test;

namespace {

const std::string kSha(64, 'a');

Json hello_json() {
  return {{"t", "hello"},
          {"v", 1},
          {"id", "w1"},
          {"name", "lab-pc"},
          {"platform", "linux-x86_64"},
          {"slots", 4},
          {"memory", 1024},
          {"score", 1.5e7},
          {"coupled", true},
          {"version", "0.1.0"},
          {"key", "k"},
          {"cap", ""},
          {"worker_key", std::string(64, 'a')}};
}

}  // namespace

TEST_CASE("worker hello: every field is checked and named") {
  // Each field of hello with each wrong type, missing or out of range.
  check_fields(
      W_STATUS_OF(decode_worker_hello), "hello", hello_json(),
      {{"t", {}, true},
       {"v", {}, true, {2, 0}},
       {"id", {"string"}, false, {"a\x01", std::string(300, 'x'), "\xff"}},
       {"name", {"string"}, false, {"tab\there", std::string(257, 'n')}},
       {"platform", {"string"}, false, {"", "linux x86", "../x"}},
       {"slots", {"int"}, false, {0, kMaxSlots + 1}},
       {"memory", {"int"}, false, {}},
       {"score", {"int", "float"}, false, {-1.0, 1e16}},
       {"coupled", {"bool"}, false},
       {"version", {"string"}, false},
       {"key", {"string"}, false, {std::string(kMaxCredential + 1, 'k')}},
       {"cap", {"string"}, false},
       {"worker_key", {}, false, {std::string(31, 'a'), std::string(kMaxCredential + 1, 'a')}}});
}

TEST_CASE("worker hello: defaults for absent fields, values as sent") {
  // A minimal hello takes the protocol's defaults; a full one round-trips.
  auto min = decode_worker_hello(kept(pack({{"t", "hello"}, {"v", 1}})));
  REQUIRE(min.ok());
  CHECK(min->name == "worker");
  CHECK(min->platform == "linux-x86_64");
  CHECK(min->slots == 1);
  CHECK(min->coupled);
  WorkerHello h;
  h.v = kProtocolVersion;
  h.id = "x-1";
  h.name = "x";
  h.platform = "wasm32";
  h.slots = 3;
  h.memory_mb = 2048;
  h.score = 123.5;
  h.coupled = false;
  h.version = "9";
  h.key = "k";
  h.cap = "c";
  auto back = decode_worker_hello(kept(encode(h)));
  REQUIRE(back.ok());
  CHECK(back->id == "x-1");
  CHECK(back->platform == "wasm32");
  CHECK(back->slots == 3);
  CHECK(back->memory_mb == 2048);
  CHECK(back->score == 123.5);
  CHECK_FALSE(back->coupled);
  CHECK(back->key == "k");
  CHECK(back->cap == "c");
}

TEST_CASE("results: an integer error is refused, naming the item and field") {
  // The message that crashed a release wpool: {"error": 5} in an item.
  auto r = decode_results(kept(pack(
      {{"t", "results"}, {"items", {{{"task", 9}, {"ms", 1}}, {{"task", 7}, {"error", 5}}}}})));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "results: items[1].error: expected a string, got an integer");
}

TEST_CASE("results: every field of an item is checked and named") {
  // Output may be anything (a kernel's result); every other field is typed.
  const Json ok_item = {{"task", 3}, {"output", {{"y", 1}}}, {"ms", 1.25}};
  check_fields(W_STATUS_OF(decode_results), "results", {{"t", "results"}, {"items", {ok_item}}},
               {{"items", {"array"}, true},
                {"items/0", {"map"}},
                {"items/0/task", {"int"}, true, {0}},
                {"items/0/ms", {"int", "float"}, false, {-1.0, 1e13}},
                {"items/0/rank", {"int"}, false, {kMaxGroup}},
                {"items/0/group", {"string"}, false, {"g 1", std::string(65, 'g')}}});
  check_fields(W_STATUS_OF(decode_results), "results",
               {{"t", "results"}, {"items", {{{"task", 3}, {"error", "boom"}}}}},
               {{"items/0/error", {"string"}, false, {"\xc3\x28", std::string(70000, 'e')}}});
}

TEST_CASE("results: items decode to what the worker meant") {
  // ok with an output, a failure with its error, a member with rank and group.
  auto r = decode_results(kept(pack({{"t", "results"},
                                     {"items",
                                      {{{"task", 1}, {"output", {{"y", 2}}}, {"ms", 2}},
                                       {{"task", 2}, {"error", "boom"}, {"ms", 0.5}},
                                       {{"task", 3}, {"rank", 1}, {"group", "g3a1xabc"}},
                                       {{"task", 4}}}}})));
  REQUIRE(r.ok());
  REQUIRE(r->items.size() == 4);
  CHECK(r->items[0].ok);
  CHECK(r->items[0].output == pack({{"y", 2}}));
  CHECK(r->items[0].ms == 2);
  CHECK_FALSE(r->items[1].ok);
  CHECK(r->items[1].error == "boom");
  CHECK(r->items[2].rank == 1);
  CHECK(r->items[2].group == "g3a1xabc");
  CHECK_FALSE(r->items[0].rank.has_value());
  CHECK(r->items[3].ok);
  CHECK(r->items[3].output.empty());
}

TEST_CASE("results: the encoder makes what the decoder accepts") {
  // A non-object output becomes an error; a kernel's invalid UTF-8 and
  // oversize error texts are cleaned instead of getting the worker refused.
  Results m;
  const std::string bad_output = "\x92\x01";  // an array cut short
  m.items.push_back({1, true, bad_output, "", 1.5, std::nullopt, ""});
  m.items.push_back({2, false, {}, "bad \xff byte", 0, 2, "g2a1x"});
  m.items.push_back({3, false, {}, std::string(kMaxErrorText + 10, 'e'), 0, std::nullopt, ""});
  auto r = decode_results(kept(encode(m)));
  REQUIRE(r.ok());
  CHECK_FALSE(r->items[0].ok);
  CHECK(r->items[0].error == "kernel output is not one msgpack object");
  CHECK(r->items[1].error == "bad \xef\xbf\xbd byte");
  CHECK(r->items[1].rank == 2);
  CHECK(r->items[2].error.size() == kMaxErrorText);
}

TEST_CASE("checkpoint, fetch and bye: every field is checked and named") {
  // data must be bin (not a string), kernel a sha256, returned task ids.
  check_fields(W_STATUS_OF(decode_checkpoint), "checkpoint",
               {{"t", "checkpoint"}, {"task", 5}, {"data", bin({1, 2, 3})}},
               {{"task", {"int"}, true, {0}}, {"data", {"bin"}, true}});
  check_fields(W_STATUS_OF(decode_fetch), "fetch", {{"t", "fetch"}, {"kernel", kSha}},
               {{"kernel", {}, true, {std::string(64, 'A'), "../../etc/passwd", ""}}});
  check_fields(W_STATUS_OF(decode_bye), "bye", {{"t", "bye"}, {"returned", {4, 5}}},
               {{"returned", {"array"}}, {"returned/1", {"int"}, false, {0}}});
  auto bye = decode_bye(kept(encode(Bye{{1, 2, 3}})));
  REQUIRE(bye.ok());
  CHECK(bye->returned == std::vector<int64_t>{1, 2, 3});
  auto cp = decode_checkpoint(kept(encode(Checkpoint{7, std::string_view("\0s", 2)})));
  REQUIRE(cp.ok());
  CHECK(cp->task == 7);
  CHECK(cp->data == std::string_view("\0s", 2));
  CHECK_FALSE(cp->rank);
  // A member's: rank and step, both or neither.
  Checkpoint member{7, "s"};
  member.rank = 3;
  member.step = 12;
  auto mcp = decode_checkpoint(kept(encode(member)));
  REQUIRE(mcp.ok());
  CHECK(mcp->rank == 3);
  CHECK(mcp->step == 12);
  check_fields(W_STATUS_OF(decode_checkpoint), "checkpoint",
               {{"t", "checkpoint"}, {"task", 7}, {"data", bin({1})}, {"rank", 1}, {"step", 2}},
               {{"rank", {"int"}, true, {-1, kMaxGroup}}, {"step", {"int"}, true, {0}}});
}

TEST_CASE("heartbeat: load and rss are optional, checked and round-trip") {
  // A bare heartbeat (older workers, browsers that cannot tell) is unknown
  // load and memory; present, each has its type and range.
  auto bare = decode_heartbeat(kept(pack({{"t", "heartbeat"}})));
  REQUIRE(bare.ok());
  CHECK(bare->load < 0);
  CHECK(bare->rss < 0);
  check_fields(W_STATUS_OF(decode_heartbeat), "heartbeat",
               {{"t", "heartbeat"}, {"load", 0.5}, {"rss", 1 << 20}},
               {{"load", {"int", "float"}, false, {-0.1, 2e6}},
                {"rss", {"int"}, false, {-1, int64_t{1} << 51}}});
  auto hb = decode_heartbeat(kept(encode(Heartbeat{1.25, int64_t{3} << 30})));
  REQUIRE(hb.ok());
  CHECK(hb->load == 1.25);
  CHECK(hb->rss == int64_t{3} << 30);
  auto unknown = decode_heartbeat(kept(encode(Heartbeat{})));
  REQUIRE(unknown.ok());
  CHECK(unknown->load < 0);
  CHECK(unknown->rss < 0);
}

TEST_CASE("decode_from_worker: the type first, then its decoder") {
  // Each worker message reaches its struct; anything else is refused with `t` named.
  CHECK(std::holds_alternative<Heartbeat>(*decode_from_worker(kept(pack({{"t", "heartbeat"}})))));
  CHECK(std::holds_alternative<Results>(
      *decode_from_worker(kept(pack({{"t", "results"}, {"items", Json::array()}})))));
  CHECK(std::holds_alternative<WorkerHello>(
      *decode_from_worker(kept(pack({{"t", "hello"}, {"v", 1}})))));
  auto unknown = decode_from_worker(kept(pack({{"t", "nope"}})));
  CHECK(unknown.status().message() == "message: t: unknown message type 'nope'");
  for (auto& [kind, value] : wrong_values()) {
    if (kind == "string") continue;
    INFO(kind);
    auto r = decode_from_worker(kept(pack({{"t", value}})));
    CHECK_THAT(r.status().message(), Catch::StartsWith("message: t: expected a string, got"));
  }
  CHECK(decode_from_worker(kept(pack(Json::object()))).status().message() == "message: t: missing");
  CHECK(decode_from_worker(kept(pack(7))).status().message() ==
        "message: expected a map, got an integer");
  CHECK(decode_from_worker("\x81\xa1t").status().message() ==
        "message: not one well-formed msgpack object");
  CHECK_FALSE(decode_from_worker("").ok());
  CHECK_FALSE(decode_from_worker("\x81\x01\x02").ok());  // an integer key
}

TEST_CASE("pool to worker: welcome, campaign, artifact, abort, error are checked") {
  // What a worker reads from a pool is checked like what the pool reads.
  check_fields(W_STATUS_OF(decode_welcome), "welcome",
               {{"t", "welcome"},
                {"v", 1},
                {"id", "w-1"},
                {"heartbeat_ms", 5000},
                {"sig", ""},
                {"max_frame", 16 << 20}},
               {{"v", {"int"}, true},
                {"id", {"string"}},
                {"heartbeat_ms", {"int"}, false, {86400001}},
                {"sig", {"string"}},
                {"max_frame", {}, false, {1024, int64_t{1} << 33}}});
  check_fields(W_STATUS_OF(decode_campaign), "campaign",
               {{"t", "campaign"},
                {"campaign", 3},
                {"name", "c"},
                {"kernel", kSha},
                {"static", nullptr},
                {"timeout_ms", 1000},
                {"group", 2}},
               {{"campaign", {"int"}, true, {0}},
                {"name", {"string"}},
                {"kernel", {}, true, {"../../../tmp/x"}},
                {"timeout_ms", {"int"}, false, {kMaxTimeoutMs + 1}},
                {"group", {"int"}, false, {0, kMaxGroup + 1}}});
  check_fields(W_STATUS_OF(decode_artifact), "artifact",
               {{"t", "artifact"}, {"kernel", kSha}, {"data", bin({0x7f})}},
               {{"kernel", {}, true}, {"data", {"bin"}, true}});
  check_fields(W_STATUS_OF(decode_abort), "abort",
               {{"t", "abort"}, {"group", "g1a1xab"}, {"reason", "r"}},
               {{"group", {"string"}, true, {"g/1"}}, {"reason", {"string"}}});
  check_fields(W_STATUS_OF(decode_error), "error",
               {{"t", "error"}, {"code", "denied"}, {"message", "no"}},
               {{"code", {"string"}, false, {"not a token"}}, {"message", {"string"}}});
  // The pool names a worker "<name>-<connection>", or appends "#<connection>".
  Welcome long_id;
  long_id.id = std::string(kMaxName, 'n') + "-18446744073709551615";
  CHECK(decode_welcome(kept(encode(long_id))).ok());
  auto c = decode_campaign(kept(encode(CampaignBind{3, "c", kSha, {}, 1000, 1})));
  REQUIRE(c.ok());
  CHECK(c->static_data.empty());
  CHECK(c->group == 1);
}

TEST_CASE("tasks: items, members and checkpoints are checked") {
  // A member's rank must be below its size; browsers are ranks of the run.
  const Json item = {{"id", 4},
                     {"seq", 0},
                     {"input", {{"x", 1}}},
                     {"group", "g4a1xq"},
                     {"rank", 1},
                     {"size", 2},
                     {"browsers", {0, 1}},
                     {"link", "0123abcd"},
                     {"checkpoint", bin({9})},
                     {"step", 5}};
  check_fields(W_STATUS_OF(decode_tasks), "tasks",
               {{"t", "tasks"}, {"campaign", 1}, {"items", {item}}},
               {{"campaign", {"int"}, true, {0}},
                {"items", {"array"}, true},
                {"items/0", {"map"}},
                {"items/0/id", {"int"}, true, {0}},
                {"items/0/seq", {"int"}, false, {}},
                {"items/0/group", {"string"}, false, {""}},
                {"items/0/rank", {"int"}, true, {2}},
                {"items/0/size", {"int"}, true, {1, kMaxGroup + 1}},
                {"items/0/browsers/1", {"int"}, false, {2}},
                {"items/0/link", {"string"}, false, {std::string(65, 'a'), "a b"}},
                {"items/0/step", {"int"}, false, {-1}}});
  Json plain = {{"id", 4}, {"input", {{"x", 1}}}, {"checkpoint", bin({9})}};
  check_fields(
      W_STATUS_OF(decode_tasks), "tasks", {{"t", "tasks"}, {"campaign", 1}, {"items", {plain}}},
      {{"items/0/input",
        {"string", "int", "float", "bool", "nil", "array", "map", "bin", "huge", "negative"},
        true},
       {"items/0/checkpoint", {"bin"}}});
}

TEST_CASE("tasks: the builder's message decodes to the items given") {
  // Inputs are copied once into the message and come back byte for byte.
  const std::string in1 = pack({{"x", 1}}), in2 = pack({{"x", 2}});
  TasksBuilder b(9);
  TaskItem a{11, 0, in1};
  a.checkpoint = std::string_view("cp");
  b.add(a);
  TaskItem m{12, 1, in2};
  m.group = "g12a1xzz";
  m.rank = 1;
  m.size = 3;
  m.browsers = {0, 1};
  m.link = "5ec12e7";
  m.checkpoint = std::string_view("member state");
  m.step = 4;
  b.add(m);
  CHECK(b.size() == 2);
  auto t = decode_tasks(kept(b.done()));
  REQUIRE(t.ok());
  CHECK(t->campaign == 9);
  REQUIRE(t->items.size() == 2);
  CHECK(t->items[0].input == in1);
  CHECK(t->items[0].checkpoint == std::string_view("cp"));
  CHECK_FALSE(t->items[0].member());
  CHECK(t->items[1].member());
  CHECK(t->items[1].rank == 1);
  CHECK(t->items[1].size == 3);
  CHECK(t->items[1].browsers == std::vector<int>{0, 1});
  CHECK(t->items[1].link == "5ec12e7");
  CHECK(t->items[1].checkpoint == std::string_view("member state"));
  CHECK(t->items[1].step == 4);
}

TEST_CASE("decode_to_worker: unknown types pass as Unknown") {
  // A newer pool may send more; the worker ignores what it does not know.
  auto u = decode_to_worker(kept(pack({{"t", "newer_thing"}, {"x", 1}})));
  REQUIRE(u.ok());
  REQUIRE(std::holds_alternative<Unknown>(*u));
  CHECK(std::get<Unknown>(*u).type == "newer_thing");
  CHECK(std::holds_alternative<Drain>(*decode_to_worker(kept(encode(Drain{})))));
  auto e = decode_to_worker(kept(encode(Error{"", "refused"})));
  REQUIRE(e.ok());
  CHECK(std::get<Error>(*e).message == "refused");
  auto w = decode_to_worker(kept(encode(Welcome{})));
  REQUIRE(w.ok());
  CHECK(std::get<Welcome>(*w).v == kProtocolVersion);
}
