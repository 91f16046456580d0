// PgStore's membership among the pools sharing its database (pg_store.h):
// joining, keeping alive, leaving, and who else is alive.
#include <unistd.h>

#include <ctime>

#include <fmt/format.h>

#include "pg_store.h"

namespace w::pool {
namespace {

// How long a pool's claims outlive its last keepalive(): a pool that died
// (kill -9, its machine lost) holds its tasks this long. Against the
// database's clock, so the pools' clocks need not agree.
constexpr int kPoolLapseSeconds = 10;

}  // namespace

// Each start is a new pool, with a row of its own: the tasks a pool that
// was killed claimed are not this one's (they are in no one's memory) and
// lapse with its old row.
Status PgStore::join() {
  char host[256] = "";
  (void)gethostname(host, sizeof host - 1);
  auto r =
      run("INSERT INTO pools(host,started,alive_until)"
          " VALUES($1,$2,now()+make_interval(secs=>$3)) RETURNING id",
          PgParams()
              .text(fmt::format("{} pid {}", host, getpid()))
              .i64(static_cast<int64_t>(std::time(nullptr)))
              .i64(kPoolLapseSeconds),
          "join the pools", Kind::kWrite);
  if (!r.ok()) return r.status();
  pool_ = r->i64(0, 0);
  W_RETURN_IF_ERROR(commit());
  return name_session();
}

// The pool's session carries its number (pg_stat_activity shows every
// session's application_name to every user): a pool is alive while its
// row is fresh *and* its session is there, so the tasks of a pool killed
// on a machine that still runs go to the others as soon as the server
// sees the socket close, not after the lapse.
//
// A pool that hangs (SIGSTOP, a stalled machine) with its transaction open
// would hold the row locks of what it claimed or wrote there, which other
// pools' claims skip: past the lapse the server ends such a session, so
// the locks go with it (a pool's transaction is never idle that long: it
// commits within 100 ms; if it was only slow, its next commit fails and it
// stops, losing nothing acknowledged).
//
// The session also listens on channel "wpool", where a pool's commit that
// created, changed or added to a campaign notifies the others
// (changed_elsewhere()): they read it back at once, not at their next
// second's sync.
Status PgStore::name_session() {
  W_RETURN_IF_ERROR(run("SELECT set_config('application_name', $1, false),"
                        " set_config('idle_in_transaction_session_timeout', $2, false)",
                        PgParams()
                            .text(fmt::format("wpool pool {}", pool_))
                            .text(fmt::format("{}s", kPoolLapseSeconds)),
                        "name the session")
                        .status());
  return exec_simple("LISTEN wpool", "listen for the other pools");
}

bool PgStore::changed_elsewhere() {
  if (pool_ == 0 || PQconsumeInput(conn_.get()) == 0) return false;
  bool changed = false;
  const int self = PQbackendPID(conn_.get());
  while (PGnotify* n = PQnotifies(conn_.get())) {
    if (n->be_pid != self) changed = true;  // not this pool's own
    PQfreemem(n);
  }
  return changed;
}

Result<int64_t> PgStore::other_pools() {
  auto r = run("WITH live AS MATERIALIZED (" WPOOL_LIVE_POOLS
               ")"
               " SELECT count(*) FROM live WHERE id<>$1",
               PgParams().i64(pool_), "count the pools");
  if (!r.ok()) return r.status();
  return r->i64(0, 0);
}

// Pushes the pool's lapse forward; the row comes back if another pool's
// clean-up removed it while this one was cut off.
Status PgStore::keepalive() {
  return run("INSERT INTO pools(id,host,started,alive_until)"
             " VALUES($1,'',0,now()+make_interval(secs=>$2))"
             " ON CONFLICT(id) DO UPDATE SET alive_until=excluded.alive_until",
             PgParams().i64(pool_).i64(kPoolLapseSeconds), "keep the pool alive", Kind::kWrite)
      .status();
}

// A pool that stops hands its unrun tasks back at once, rather than let
// them wait for its claims to lapse.
void PgStore::leave() {
  if (pool_ == 0 || !aborted_.ok() || PQstatus(conn_.get()) != CONNECTION_OK) return;
  (void)run("UPDATE tasks SET pool=NULL WHERE pool=$1 AND state=0", PgParams().i64(pool_),
            "hand back tasks", Kind::kWrite);
  (void)run("DELETE FROM pools WHERE id=$1 OR alive_until < now()-interval '1 day'",
            PgParams().i64(pool_), "leave the pools", Kind::kWrite);
  (void)commit();
}

}  // namespace w::pool
