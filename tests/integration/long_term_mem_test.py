#!/usr/bin/env python3
"""long-term-mem (va-long-term-mem) against the real PostgreSQL of the ctest fixture "stores".

  long_term_mem_test.py facts          add, update (history kept), unchanged, recall by keywords
                                       per user (never another user's facts), 404, bad input 400
                                       naming the field, metrics
  long_term_mem_test.py consolidation  3,000 conversation_log rows; `consolidate` SIGKILLed
                                       mid-run (after the checkpoint moved, before the end), a
                                       second job refused while the first runs, then run again to
                                       completion: every entry processed exactly once (summary
                                       ranges tile the ids, facts and history exact, checkpoint =
                                       max id); a third run finds nothing to do
  long_term_mem_test.py restart        PostgreSQL stopped under a running server: 503
                                       store_unavailable with Retry-After, /readyz 503; started
                                       again: the same process answers 200

Environment (VA_STORES_ENV): VA_STORES_DIR (postgres-dsn), BIN_DIR (the build tree),
VA_SOURCE_DIR; VA_POSTGRES_PORT / VA_REDIS_PORT when the fixture runs on other ports.
Users, conversations and the checkpoint name carry a per-run prefix, so reruns against the same
database do not collide. Python stdlib only; the database is checked with psql.
"""
import concurrent.futures
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SOURCE = os.environ.get("VA_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BIN_DIR = os.environ.get("BIN_DIR", os.path.join(SOURCE, "build"))
STORES_DIR = os.environ.get("VA_STORES_DIR", os.path.join(SOURCE, "_output", "stores"))
BINARY = os.path.join(BIN_DIR, "workloads", "long_term_mem", "va-long-term-mem")
DSN_FILE = os.path.join(STORES_DIR, "postgres-dsn")
STORES = os.path.join(SOURCE, "hack", "local", "stores.sh")
PREFIX = f"ltm{int(time.time())}p{os.getpid()}"

CONVERSATION_LOG_DDL = """
CREATE TABLE IF NOT EXISTS conversation_log (id bigserial PRIMARY KEY, conversation_id text NOT NULL, sequence bigint NOT NULL,
  message_id text NOT NULL, user_id text NOT NULL, user_text text NOT NULL, reply text NOT NULL,
  intent text NOT NULL DEFAULT '', created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (conversation_id, sequence));
"""

failures = []
checks = 0


def check(condition, what, detail=""):
    global checks
    checks += 1
    if condition:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what} {detail}")
        failures.append(what)


def psql_binary():
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    if not candidates:
        sys.exit("psql is not installed")
    return candidates[-1]


PSQL = psql_binary()


def dsn():
    with open(DSN_FILE, encoding="utf-8") as f:
        return f.read().strip()


def sql(statement, timeout=60):
    """Runs SQL (given on stdin) and returns its rows as lists of strings."""
    done = subprocess.run([PSQL, dsn(), "-qtAX", "-F", "\t", "-v", "ON_ERROR_STOP=1"],
                          input=statement, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return [line.split("\t") for line in done.stdout.splitlines() if line != ""]


def scalar(statement):
    rows = sql(statement)
    return rows[0][0] if rows else None


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(**extra):
    env = dict(os.environ)
    env.update({"POSTGRES_DSN_FILE": DSN_FILE, "VA_LOG_FORMAT": "text",
                "DB_STARTUP_TIMEOUT": "30s"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def request(port, method, path, body=None, timeout=10):
    """(status, headers, JSON or text) of one call."""
    data = None if body is None else (body if isinstance(body, bytes) else
                                      json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, headers, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, dict(e.headers), e.read()
    try:
        return status, headers, json.loads(raw)
    except ValueError:
        return status, headers, raw.decode(errors="replace")


class Server:
    """va-long-term-mem serving on a free port."""

    def __init__(self):
        self.port = free_port()
        self.log = open(os.path.join(STORES_DIR, f"{PREFIX}-server.log"), "w", encoding="utf-8")
        self.process = subprocess.Popen([BINARY], env=service_env(VA_PORT=self.port),
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"va-long-term-mem exited {self.process.returncode}")
            try:
                if request(self.port, "GET", "/readyz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("va-long-term-mem did not become ready")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def facts_path(user, query=None, limit=None):
    path = f"/v1/users/{urllib.parse.quote(user, safe='')}/facts"
    params = {}
    if query is not None:
        params["q"] = query
    if limit is not None:
        params["limit"] = limit
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def test_facts():
    server = Server()
    try:
        port = server.port
        alice, bob = f"{PREFIX}-alice", f"{PREFIX}-bob"
        status, _, body = request(port, "POST", facts_path(alice), {
            "key": "locker code", "value": "your locker code is 4512",
            "source_conversation": f"{PREFIX}-c1", "source_turn": 3, "confidence": 0.8})
        check(status == 200 and body.get("outcome") == "added", "a new fact is added",
              f"{status} {body}")
        fact = body.get("fact", {}) if isinstance(body, dict) else {}
        check(fact.get("key") == "locker code" and fact.get("source_turn") == 3 and
              abs(fact.get("confidence", 0) - 0.8) < 1e-6 and
              re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", fact.get("created_at", "")),
              "the fact carries its source, confidence and RFC 3339 times", f"{fact}")

        status, _, body = request(port, "POST", facts_path(alice), {
            "key": "locker code", "value": "your locker code is 7781",
            "source_conversation": f"{PREFIX}-c2", "source_turn": 1})
        check(status == 200 and body.get("outcome") == "updated" and
              body["fact"]["value"] == "your locker code is 7781", "a new value updates the fact",
              f"{status} {body}")
        status, _, body = request(port, "POST", facts_path(alice), {
            "key": "locker code", "value": "your locker code is 7781"})
        check(status == 200 and body.get("outcome") == "unchanged",
              "the same value again is unchanged", f"{status} {body}")

        key_path = f"/v1/users/{alice}/facts/{urllib.parse.quote('locker code', safe='')}/history"
        status, _, body = request(port, "GET", key_path)
        history = body.get("history", []) if isinstance(body, dict) else []
        check(status == 200 and len(history) == 1 and
              history[0]["value"] == "your locker code is 4512" and
              history[0]["source_conversation"] == f"{PREFIX}-c1" and
              history[0]["source_turn"] == 3 and "valid_from" in history[0] and
              "replaced_at" in history[0],
              "the history keeps the old value (one row: unchanged adds none)", f"{status} {body}")
        rows = scalar(f"SELECT count(*) FROM long_term_fact_history h JOIN long_term_facts f"
                      f" ON f.id = h.fact_id WHERE f.user_id = {quote(alice)}")
        check(rows == "1", "PostgreSQL holds exactly one history row", f"{rows}")
        status, _, body = request(port, "GET", f"/v1/users/{alice}/facts/no%20such/history")
        check(status == 404 and body["error"]["code"] == "fact_not_found",
              "history of an unknown fact is 404", f"{status} {body}")

        for user, key, value in [
                (alice, "favourite colour", "your favourite colour is green"),
                (alice, "dentist", "your dentist appointment is on friday"),
                (bob, "locker code", "your locker code is 0000"),
                (bob, "car", "your car is parked on level 3")]:
            status, _, body = request(port, "POST", facts_path(user),
                                      {"key": key, "value": value})
            check(status == 200 and body.get("outcome") == "added", f"added {key} for {user}",
                  f"{status} {body}")

        status, _, body = request(port, "GET", facts_path(alice, "what's my locker code?"))
        values = [f["value"] for f in body.get("facts", [])] if isinstance(body, dict) else []
        check(status == 200 and values == ["your locker code is 7781"],
              "recall by keywords finds the user's fact (and not another user's)",
              f"{status} {body}")
        status, _, body = request(port, "GET", facts_path(bob, "where is my car parked?"))
        values = [f["value"] for f in body.get("facts", [])]
        check(values == ["your car is parked on level 3"], "recall for the other user",
              f"{body}")
        status, _, body = request(port, "GET", facts_path(alice, "locker colour dentist"))
        values = [f["value"] for f in body.get("facts", [])]
        check(len(values) == 3 and "your locker code is 0000" not in values,
              "keywords are OR-ed, within the user's facts only", f"{values}")
        status, _, body = request(port, "GET", facts_path(alice, "what do you remember", 2))
        values = [f["value"] for f in body.get("facts", [])]
        check(values == ["your dentist appointment is on friday",
                         "your favourite colour is green"],
              "no keywords: the newest facts, limited", f"{values}")
        status, _, body = request(port, "GET", facts_path(alice, "penguins"))
        check(status == 200 and body.get("facts") == [], "nothing matches: no facts", f"{body}")
        status, _, body = request(port, "GET", facts_path(f"{PREFIX}-nobody", "locker code"))
        check(status == 200 and body.get("facts") == [], "an unknown user has no facts",
              f"{body}")

        odd = f"{PREFIX}-slack/U1\u00e9?&"  # '/', non-ASCII and query characters in the id
        status, _, body = request(port, "POST", facts_path(odd), {"key": "a/b", "value": "v"})
        check(status == 200 and body.get("outcome") == "added", "a user id holding '/' and UTF-8",
              f"{status} {body}")
        status, _, body = request(port, "GET", facts_path(odd, ""))
        check(status == 200 and [f["key"] for f in body.get("facts", [])] == ["a/b"],
              "is recalled by the same id", f"{status} {body}")
        status, _, body = request(
            port, "GET", f"{facts_path(odd)}/{urllib.parse.quote('a/b', safe='')}/history")
        check(status == 200 and body.get("fact", {}).get("value") == "v",
              "and a key holding '/' has its history", f"{status} {body}")

        # Concurrent first writes of one key: one is added, the others update it in turn.
        racer = f"{PREFIX}-racer"
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(lambda i: request(port, "POST", facts_path(racer), {
                "key": "race", "value": f"value {i}"}), range(32)))
        outcomes = sorted(r[2].get("outcome", str(r[0])) for r in results)
        check(outcomes.count("added") == 1 and outcomes.count("updated") == 31,
              "32 concurrent writes of a new key: 1 added, 31 updated", f"{outcomes}")
        rows = scalar(f"SELECT count(*) FROM long_term_fact_history h JOIN long_term_facts f"
                      f" ON f.id = h.fact_id WHERE f.user_id = {quote(racer)}")
        check(rows == "31", "with 31 history rows", f"{rows}")

        bad = [
            ({"value": "x"}, "key"),
            ({"key": "", "value": "x"}, "key"),
            ({"key": "k", "value": 5}, "value"),
            ({"key": "k", "value": "x", "confidence": 2}, "confidence"),
            ({"key": "k", "value": "x", "source_turn": -1}, "source_turn"),
            ({"key": "k", "value": "x", "source_turn": 1.5}, "source_turn"),
            ({"key": "k", "value": "x", "source_conversation": 7}, "source_conversation"),
            ({"key": "k", "value": "x", "colour": "red"}, "colour"),
            ({"key": "k" * 201, "value": "x"}, "key"),
            ({"key": "k", "value": "x" * 4001}, "value"),
        ]
        for payload, field in bad:
            status, _, body = request(port, "POST", facts_path(alice), payload)
            message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
            check(status == 400 and message.startswith(field + ":"),
                  f"400 naming {field} for {json.dumps(payload)[:60]}", f"{status} {body}")
        status, _, body = request(port, "POST", facts_path(alice), b"{not json")
        check(status == 400 and body["error"]["code"] == "malformed_json", "malformed JSON: 400",
              f"{status} {body}")
        status, _, body = request(port, "GET", facts_path(alice, "x", "0"))
        check(status == 400 and body["error"]["message"].startswith("limit:"),
              "limit 0: 400 naming limit", f"{status} {body}")
        status, _, body = request(port, "GET", facts_path(alice, "x", "101"))
        check(status == 400 and body["error"]["message"].startswith("limit:"),
              "limit 101: 400 naming limit", f"{status} {body}")
        status, _, body = request(port, "GET", "/v1/summaries")
        check(status == 400 and body["error"]["message"].startswith("user:"),
              "summaries without user or conversation: 400", f"{status} {body}")
        status, _, body = request(port, "GET", f"/v1/summaries?user={alice}")
        check(status == 200 and body.get("summaries") == [], "summaries of a user: a list",
              f"{status} {body}")
        # Nothing half-written by the refused calls.
        count = scalar(f"SELECT count(*) FROM long_term_facts WHERE user_id = {quote(alice)}")
        check(count == "3", "refused calls wrote nothing", f"{count}")

        status, _, metrics = request(port, "GET", "/metrics")
        check(status == 200 and 'va_long_term_mem_facts_total{outcome="added"} 7' in metrics and
              'va_long_term_mem_facts_total{outcome="updated"} 32' in metrics and
              'va_long_term_mem_facts_total{outcome="unchanged"} 1' in metrics and
              "va_long_term_mem_recalls_total 7" in metrics and
              'va_long_term_mem_operation_duration_seconds_count{operation="remember"}' in metrics,
              "metrics count facts by outcome, recalls and operation durations")
        # An encoded '/' in the route's fixed part matches the decoded route but not its shape.
        for raw in ("/v1%2Fusers%2Fa%2Ffacts%2Fb%2Fhistory", "/v1/users%2Fa%2Ffacts%2Fk/history",
                    "/v1%2Fusers%2Fa/facts"):
            status, _, body = request(port, "GET", raw)
            check(status in (400, 404), f"GET {raw}: refused, not a crash", f"{status} {body}")
        status, _, body = request(port, "GET", facts_path(alice))
        check(status == 200, "the server is still up after the odd paths", f"{status}")
    finally:
        server.stop()


def consolidate(name, delay_ms=50, batch=100):
    return subprocess.Popen([BINARY, "consolidate"],
                            env=service_env(CONSOLIDATE_NAME=name, CONSOLIDATE_BATCH=batch,
                                            CONSOLIDATE_LAG="0",
                                            CONSOLIDATE_BATCH_DELAY_MS=delay_ms),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def report_of(output):
    for line in output.splitlines():
        if line.startswith("{") and '"entries"' in line:
            return json.loads(line)
    return None


def test_consolidation():
    conversations, turns, users = 100, 30, 10
    name = f"{PREFIX}-checkpoint"
    # The tables: conversation_log as the conversation-log component creates it, ours by a
    # first quick run of the job (its migrations), which finds nothing to do.
    sql(CONVERSATION_LOG_DDL)
    start = int(scalar("SELECT COALESCE(max(id), 0) FROM conversation_log"))
    first = consolidate(name, delay_ms=0)
    out, _ = first.communicate(timeout=120)
    check(first.returncode == 0, "a run with nothing new exits 0", out[-500:])
    sql(f"UPDATE consolidation_checkpoints SET last_entry_id = {start} WHERE name = {quote(name)}")

    # 3,000 entries: each conversation's turns contiguous in id order; every 5th turn (and some
    # unparseable ones) a remember_fact; the colours repeat, so some facts come back unchanged.
    expected = {}  # (user, key) -> value
    outcomes = {"added": 0, "updated": 0, "unchanged": 0}
    values = []
    colours = ["red", "green", "blue"]
    for c in range(conversations):
        user = f"{PREFIX}-u{c % users}"
        conversation = f"{PREFIX}-c{c}"
        for t in range(1, turns + 1):
            intent, text = "chitchat", f"hello number {t} in {c}"
            fact = None
            if t % 5 == 0:
                intent = "remember_fact"
                if t % 10 == 0:
                    text = f"remember that my locker code is k{c}t{t}"
                    fact = ("locker code", f"your locker code is k{c}t{t}")
                else:
                    colour = colours[(c + t) % 2]
                    text = f"remember that my favourite colour is {colour}"
                    fact = ("favourite colour", f"your favourite colour is {colour}")
            elif t == 7:
                intent, text = "remember_fact", "remember that"  # nothing to remember
            elif t == 1:
                intent = "greet"
            if fact:
                k = (user, fact[0])
                if k not in expected:
                    outcomes["added"] += 1
                elif expected[k] == fact[1]:
                    outcomes["unchanged"] += 1
                else:
                    outcomes["updated"] += 1
                expected[k] = fact[1]
            values.append(f"({quote(conversation)}, {t}, {quote(f'{conversation}-m{t}')}, "
                          f"{quote(user)}, {quote(text)}, 'ok', {quote(intent)})")
    sql("INSERT INTO conversation_log (conversation_id, sequence, message_id, user_id, user_text,"
        " reply, intent) VALUES\n" + ",\n".join(values) + ";")
    ids = sql(f"SELECT min(id), max(id), count(*) FROM conversation_log"
              f" WHERE conversation_id LIKE {quote(PREFIX + '-c%')}")[0]
    low, high, count = int(ids[0]), int(ids[1]), int(ids[2])
    check(count == conversations * turns and high - low + 1 == count,
          f"{count} entries inserted, ids {low}..{high} contiguous")
    total = int(scalar(f"SELECT count(*) FROM conversation_log WHERE id > {start}"))

    # Run 1, killed mid-run; run 2 meanwhile is refused by the lock.
    job = consolidate(name)
    checkpoint_at_kill = None
    refused = None
    deadline = time.time() + 120
    while time.time() < deadline and job.poll() is None:
        checkpoint = int(scalar(f"SELECT last_entry_id FROM consolidation_checkpoints"
                                f" WHERE name = {quote(name)}"))
        if refused is None and checkpoint > start:
            other = consolidate(name)
            other_out, _ = other.communicate(timeout=60)
            refused = (other.returncode, other_out)
        if refused is not None and checkpoint >= start + 500:
            job.send_signal(signal.SIGKILL)
            job.wait()
            checkpoint_at_kill = int(scalar(f"SELECT last_entry_id FROM consolidation_checkpoints"
                                            f" WHERE name = {quote(name)}"))
            break
        time.sleep(0.02)
    if job.poll() is None:
        job.kill()
        job.wait()
    job.stdout.close()
    check(refused is not None and refused[0] == 0 and "another consolidation" in refused[1],
          "a second job while the first runs exits 0 saying another one runs",
          f"{refused and (refused[0], refused[1][-400:])}")
    check(checkpoint_at_kill is not None and start < checkpoint_at_kill < high,
          f"SIGKILLed mid-run with the checkpoint at {checkpoint_at_kill} "
          f"({(checkpoint_at_kill or start) - start} of {total} entries done)")

    # Run 2 to completion.
    second = consolidate(name)
    out, _ = second.communicate(timeout=300)
    report = report_of(out)
    check(second.returncode == 0 and report is not None, "the second run exits 0 with a report",
          out[-800:])
    report = report or {}
    checkpoint = int(scalar(f"SELECT last_entry_id FROM consolidation_checkpoints"
                            f" WHERE name = {quote(name)}"))
    check(checkpoint >= high and report.get("checkpoint") == checkpoint,
          f"the checkpoint is the max id ({checkpoint})")
    after_kill = int(scalar(f"SELECT count(*) FROM conversation_log"
                            f" WHERE id > {checkpoint_at_kill or start}"))
    check(report.get("entries") == after_kill,
          f"the second run did the {after_kill} entries after the kill", f"{report}")

    # Exactly once: the summaries' ranges tile low..high with no gap and no overlap, each range
    # inside one conversation, and their turn counts add up to 3,000.
    summaries = sql(f"SELECT source_first_entry, source_last_entry, conversation_id, text"
                    f" FROM long_term_summaries WHERE user_id LIKE {quote(PREFIX + '-u%')}"
                    f" ORDER BY source_first_entry")
    ranges = [(int(r[0]), int(r[1])) for r in summaries]
    tiled = bool(ranges) and ranges[0][0] == low and ranges[-1][1] == high and all(
        ranges[i + 1][0] == ranges[i][1] + 1 for i in range(len(ranges) - 1)) and all(
        a <= b for a, b in ranges)
    check(tiled, f"{len(ranges)} summaries cover ids {low}..{high} exactly once",
          f"{ranges[:5]}...")
    turns_counted = sum(int(re.match(r"^(\d+) turns?;", r[3]).group(1)) for r in summaries)
    check(turns_counted == count, f"the summaries count {turns_counted} turns")
    mixed = scalar(f"SELECT count(*) FROM long_term_summaries s WHERE s.user_id LIKE"
                   f" {quote(PREFIX + '-u%')} AND EXISTS (SELECT 1 FROM conversation_log l"
                   f" WHERE l.id BETWEEN s.source_first_entry AND s.source_last_entry"
                   f" AND (l.conversation_id <> s.conversation_id OR l.user_id <> s.user_id))")
    check(mixed == "0", "each summary covers entries of its own conversation only", f"{mixed}")
    sample = [r[3] for r in summaries if r[2] == f"{PREFIX}-c0"]
    check(sample and "intents: greet, chitchat" in sample[0] and 'first: "hello number 1 in 0"'
          in sample[0] and all(len(t.encode()) <= 1000 for t in sample), "summary text",
          f"{sample[:1]}")
    periods = scalar(f"SELECT count(*) FROM long_term_summaries WHERE user_id LIKE"
                     f" {quote(PREFIX + '-u%')} AND period_start > period_end")
    check(periods == "0", "summary periods are ordered")

    # The facts: the last value of each (user, key), one history row per update.
    rows = sql(f"SELECT user_id, key, value FROM long_term_facts"
               f" WHERE user_id LIKE {quote(PREFIX + '-u%')}")
    facts = {(r[0], r[1]): r[2] for r in rows}
    check(facts == expected, f"{len(facts)} facts hold the last value said",
          f"{sorted(set(facts.items()) ^ set(expected.items()))[:4]}")
    history = int(scalar(f"SELECT count(*) FROM long_term_fact_history h JOIN long_term_facts f"
                         f" ON f.id = h.fact_id WHERE f.user_id LIKE {quote(PREFIX + '-u%')}"))
    check(history == outcomes["updated"],
          f"{history} history rows: one per update, none repeated", f"{outcomes}")

    # A third run has nothing to do.
    third = consolidate(name, delay_ms=0)
    out, _ = third.communicate(timeout=120)
    again = report_of(out) or {}
    check(third.returncode == 0 and again.get("entries") == 0 and
          again.get("checkpoint") == checkpoint, "a third run finds nothing new", out[-400:])

    # Through the API: the summaries of a conversation and the facts of a user.
    server = Server()
    try:
        status, _, body = request(server.port, "GET", f"/v1/summaries?conversation={PREFIX}-c0")
        check(status == 200 and len(body.get("summaries", [])) >= 1 and
              body["summaries"][0]["conversation_id"] == f"{PREFIX}-c0",
              "GET /v1/summaries?conversation= lists them", f"{status} {str(body)[:300]}")
        status, _, body = request(server.port, "GET", facts_path(f"{PREFIX}-u3", "locker code"))
        check(status == 200 and [f["value"] for f in body.get("facts", [])] ==
              [expected[(f"{PREFIX}-u3", "locker code")]], "the consolidated fact is recalled",
              f"{body}")
    finally:
        server.stop()
    print(f"figures: entries={total} (ids {low}..{high}), killed at checkpoint "
          f"{checkpoint_at_kill} after {(checkpoint_at_kill or start) - start} entries, "
          f"second run {json.dumps(report)}, summaries={len(ranges)}, expected facts "
          f"added={outcomes['added']} updated={outcomes['updated']} "
          f"unchanged={outcomes['unchanged']}, history rows={history}")


def test_restart():
    server = Server()
    stores_env = dict(os.environ)
    try:
        port = server.port
        user = f"{PREFIX}-restart"
        status, _, _ = request(port, "POST", facts_path(user), {"key": "k", "value": "v1"})
        check(status == 200, "a fact before the restart")
        subprocess.run(["bash", STORES, "stop-postgres"], env=stores_env, check=True)
        status, headers, body = request(port, "GET", facts_path(user, "k"))
        check(status == 503 and headers.get("Retry-After") == "1" and
              body["error"]["code"] == "store_unavailable",
              "recall while PostgreSQL is down: 503 store_unavailable, Retry-After: 1",
              f"{status} {headers.get('Retry-After')} {body}")
        status, headers, body = request(port, "POST", facts_path(user), {"key": "k", "value": "v2"})
        check(status == 503 and headers.get("Retry-After") == "1",
              "remember while PostgreSQL is down: 503 with Retry-After", f"{status} {body}")
        status, _, body = request(port, "GET", "/readyz")
        check(status == 503, "/readyz fails while PostgreSQL is down", f"{status} {body}")
        subprocess.run(["bash", STORES, "start-postgres"], env=stores_env, check=True)
        recovered = None
        began = time.time()
        while time.time() - began < 30:
            status, _, body = request(port, "GET", facts_path(user, "k"))
            if status == 200:
                recovered = time.time() - began
                break
            time.sleep(0.2)
        check(recovered is not None and server.process.poll() is None,
              f"the same process answers 200 again ({recovered and round(recovered, 2)}s after "
              f"the start)")
        status, _, body = request(port, "POST", facts_path(user), {"key": "k", "value": "v2"})
        check(status == 200 and body.get("outcome") == "updated", "and writes again",
              f"{status} {body}")
        status, _, _ = request(port, "GET", "/readyz")
        check(status == 200, "/readyz is ready again")
    finally:
        # Leave PostgreSQL up for the next tests whatever happened.
        subprocess.run(["bash", STORES, "start-postgres"], env=stores_env, check=False)
        server.stop()


def main():
    tests = {"facts": test_facts, "consolidation": test_consolidation, "restart": test_restart}
    chosen = sys.argv[1:] or list(tests)
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is not built")
    for name in chosen:
        print(f"== {name} (prefix {PREFIX})")
        tests[name]()
    print(f"{checks - len(failures)} of {checks} checks passed")
    if failures:
        print("failed: " + "; ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
