// short-term-mem's HTTP API: each conversation's context in Redis (the last turns, the slots,
// the pending intent, the callback URL, the user, a rolling summary, the last sequence) and its
// turn order, shared by every prefrontal-cortex replica (workloads/prefrontal_cortex/memory.h,
// RemoteShortTermMemory is the client).
//   POST   /v1/conversations/{id}/turns          {"wait_ms": 10000}?  (the body may be empty)
//     -> 200 {"lease": "<token>", "sequence": <last_sequence + 1>, "context": {...}}
//        503 conversation_busy + Retry-After when the turn did not come within wait_ms
//   PUT    /v1/conversations/{id}/context        {"lease": "<token>", "context": {...}}
//     -> 200 {"sequence": <the turn's sequence>}: the context is written (turns trimmed to
//        CONTEXT_MAX_TURNS, the TTL set to CONTEXT_TTL) and the lease released, atomically;
//        409 lease_lost when the lease expired or was released (nothing is written). A retried
//        commit of the same lease answers 200 again.
//   DELETE /v1/conversations/{id}/turns/{lease}  -> 200 {"released": true|false}: ends the turn
//        without writing (abort); released is false when the lease was no longer held.
//   GET    /v1/conversations/{id}/context        -> 200 the context (no lease), 404 when none
// The context: {"last_sequence": int, "turns": [{"sequence", "message_id", "user_text",
// "intent", "reply"}], "pending_intent": str, "slots": {str: str}, "callback_url": str,
// "user": str, "summary": str}. On PUT every field is optional (missing ones are empty) and
// checked: 400 invalid_field naming it ("context.turns[2].sequence: must be an integer").
// last_sequence must be the stored one (nothing appended) or the turn's sequence, turn
// sequences must increase and not exceed it. The summary is computed here, never taken from
// the client: the user texts of the last 5 turns, oldest first, joined with " | "; when that
// is longer than 500 bytes its beginning is cut (at a UTF-8 character boundary).
// While Redis is unreachable every call answers 503 store_unavailable with Retry-After: 1
// (connect and command timeouts of about a second) and /readyz fails its "redis" check; the
// next call after Redis is back connects again.
//
// Turn order, in Redis so that it holds across replicas (keys va:stm:{id}:*, one hash slot
// per conversation): a turn takes a ticket (INCR) and queues in a sorted set by ticket; a Lua
// script gives the lease (SET PX LEASE_TTL) to the oldest ticket when no lease is held. Waiters
// poll it with a short backoff (1 ms doubling to 20 ms for the next in line, up to 250 ms
// further back; a commit or abort wakes the oldest waiter in the same process), each poll
// refreshing the ticket's heartbeat; a ticket whose waiter stopped polling for ticketTtl (2 s)
// is dropped, a waiter that gives up removes its own, and a lease whose holder never commits
// expires after LEASE_TTL.
// Waiting blocks one HTTP worker: at most maxWaiters turns wait at once in a process (by
// default VA_HTTP_WORKERS - 2, so that commits always find a worker); beyond, 503 at once.
//   ShortTermMemService service(redis, {.maxTurns = 20}, registry);
//   service.addRoutes(server);   // and the "redis" readiness check
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "workloads/common/http_errors.h"
#include "workloads/common/http_server.h"
#include "workloads/common/result.h"
#include "workloads/short_term_mem/redis_client.h"

namespace va::short_term_mem {

using Reply = va::service::JsonReply;

struct ShortTermMemOptions {
  std::chrono::milliseconds contextTtl{std::chrono::hours(24)};
  std::size_t maxTurns = 20;
  std::chrono::milliseconds leaseTtl{std::chrono::seconds(30)};
  // A waiting turn that has not polled for this long loses its place in the queue.
  std::chrono::milliseconds ticketTtl{std::chrono::seconds(2)};
  std::chrono::milliseconds defaultWait{std::chrono::seconds(10)};
  std::chrono::milliseconds maxWait{std::chrono::seconds(60)};  // wait_ms above: 400
  std::size_t maxWaiters = 6;                                   // turns waiting at once here
};

// The context a client sent, checked and normalized: every field present, turns trimmed to
// the newest `maxTurns`, the summary recomputed. The error names the field ("context.slots.city:
// must be a string").
va::service::Result<nlohmann::json> normalizeContext(const nlohmann::json& context,
                                                     std::size_t maxTurns);
// The context of a conversation that has none yet.
nlohmann::json emptyContext();
// The rolling summary of a context's turns (see above).
std::string summarize(const nlohmann::json& turns);

class ShortTermMemService {
 public:
  ShortTermMemService(RedisClient& redis, ShortTermMemOptions options,
                      prometheus::Registry& registry);

  [[nodiscard]] Reply beginTurn(std::string_view conversationId, std::string_view body);
  [[nodiscard]] Reply commit(std::string_view conversationId, std::string_view body);
  [[nodiscard]] Reply abort(std::string_view conversationId, std::string_view lease);
  [[nodiscard]] Reply read(std::string_view conversationId);

  // The routes above and the readiness check "redis" (PING).
  void addRoutes(va::service::HttpServer& server);

 private:
  Reply unavailable(const RedisError& error);
  void stored();
  void count(const char* operation, const char* outcome);
  void observe(const char* operation, std::chrono::steady_clock::time_point started);

  RedisClient& redis_;
  ShortTermMemOptions options_;
  // This process's waiting turns, by conversation: a commit or abort here wakes the oldest
  // ticket waiting here at once (the others, and waiters behind another replica's turn, poll).
  struct LocalQueue {
    std::set<std::int64_t> tickets;
    std::uint64_t releases = 0;
  };
  void released(std::string_view conversationId);

  std::atomic<std::size_t> waiting_{0};
  std::mutex wakeMutex_;
  std::condition_variable wake_;
  std::map<std::string, LocalQueue, std::less<>> local_;
  std::atomic<bool> storeDown_{false};
  prometheus::Family<prometheus::Counter>& operations_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Histogram& leaseWait_;
};

}  // namespace va::short_term_mem
