#!/usr/bin/env python3
"""va-conversation-log against a real PostgreSQL (the ctest fixture "stores",
hack/local/stores.sh), with the real binary as a process:

(a) 10,000 appends from 32 concurrent clients, each retrying its entry until 201/200; the
    server is killed with SIGKILL mid-burst and restarted; at the end every entry is in the
    table exactly once (lost 0, duplicated 0).
(b) PostgreSQL stopped mid-run: appends answer 503 store_unavailable with Retry-After (never
    201) and /readyz 503; once it is back the same process answers 201 without a restart.
(c) bad input answers 400 naming the field or parameter (409 naming message_id), idempotent
    repeats 200, pagination and the time range, the queue bound (503 queue_full), retention of
    old rows, the metrics, exit 1 when PostgreSQL is unreachable at start-up, and a clean SIGTERM.

Environment: VA_STORES_DIR (postgres-dsn is read from it), BIN_DIR (the build tree),
VA_SOURCE_DIR (the repository; hack/local/stores.sh stops and starts PostgreSQL).
Every run uses its own conversation id prefix, so reruns against the same database do not
collide.
"""
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SOURCE = os.environ.get("VA_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BIN_DIR = os.environ.get("BIN_DIR", os.path.join(SOURCE, "build"))
STORES = os.environ.get("VA_STORES_DIR", os.path.join(SOURCE, "_output", "stores"))
BINARY = os.path.join(BIN_DIR, "workloads", "conversation_log", "va-conversation-log")
DSN_FILE = os.path.join(STORES, "postgres-dsn")
STORES_SH = os.path.join(SOURCE, "hack", "local", "stores.sh")
RUN = f"cltest-{int(time.time())}-{os.getpid()}"

failures = []
checks = 0


def check(condition, what, detail=""):
    global checks
    checks += 1
    if condition:
        print(f"ok   {what}", flush=True)
    else:
        print(f"FAIL {what} {detail}", flush=True)
        failures.append(what)


def dsn():
    with open(DSN_FILE) as f:
        return f.read().strip()


def psql(sql):
    out = subprocess.run(["psql", dsn(), "-qtAX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr}")
    return out.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=15):
    """(status, headers, parsed JSON or None); raises OSError when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        conn.request(method, path, body=data,
                     headers={"Content-Type": "application/json"} if data is not None else {})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
    finally:
        conn.close()


class Server:
    """One va-conversation-log process on a fixed port (kept across restarts)."""

    def __init__(self, name, state, **env):
        self.name = name
        self.port = free_port()
        self.log_path = os.path.join(state, f"{name}.log")
        self.env = dict(os.environ, POSTGRES_DSN_FILE=DSN_FILE, VA_LISTEN_ADDR="127.0.0.1",
                        VA_PORT=str(self.port), VA_HTTP_WORKERS="64",
                        VA_HTTP_QUEUE_CAPACITY="256", VA_DRAIN_TIMEOUT="5s",
                        DB_STARTUP_TIMEOUT="30s", LOG_RETENTION="0")
        self.env.update({k: str(v) for k, v in env.items()})
        self.proc = None

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BINARY], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            deadline = time.time() + 60
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited {self.proc.returncode}; "
                                       f"log {self.log_path}:\n{self.tail()}")
                try:
                    if request(self.port, "GET", "/readyz", timeout=2)[0] == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            raise RuntimeError(f"{self.name} did not become ready; log:\n{self.tail()}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode if self.proc else None

    def tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def metric(self, name):
        """The sum of the samples named exactly `name` (any labels)."""
        _, _, text = request(self.port, "GET", "/metrics")
        total = 0.0
        for line in str(text).splitlines():
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$", line)
            if m and m.group(1) == name:
                total += float(m.group(3))
        return total


def entry(conversation, sequence, message_id=None, **extra):
    body = {"conversation_id": conversation, "sequence": sequence,
            "message_id": message_id or f"m-{conversation}-{sequence}", "user": "u-1",
            "text": f"hello {sequence}", "reply": f"reply {sequence}"}
    body.update(extra)
    return body


# ---------------------------------------------------------------- (a) SIGKILL during a burst


def burst_with_sigkill(server):
    total, clients, conversations = 10000, 32, 200
    prefix = f"{RUN}-a"
    entries = [entry(f"{prefix}-{i % conversations}", i // conversations, f"m-a-{i}",
                     intent="greet")
               for i in range(total)]
    next_index = [0]
    lock = threading.Lock()
    acked = {}  # index -> (status, id)
    errors = {"connection": 0, "503": 0}
    unexpected = []

    def client():
        conn = None
        while True:
            with lock:
                if next_index[0] >= total:
                    break
                i = next_index[0]
                next_index[0] += 1
            body = json.dumps(entries[i])
            while True:
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
                    conn.request("POST", "/v1/entries", body=body,
                                 headers={"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    payload = json.loads(resp.read() or b"null")
                except (OSError, http.client.HTTPException, ValueError):
                    with lock:
                        errors["connection"] += 1
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.05)
                    continue
                if resp.status in (200, 201):
                    with lock:
                        acked[i] = (resp.status, payload.get("id"))
                    break
                if resp.status == 503:
                    with lock:
                        errors["503"] += 1
                    time.sleep(0.05)
                    continue
                with lock:
                    unexpected.append((i, resp.status, payload))
                break
        if conn is not None:
            conn.close()

    started = time.time()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    # Kill once about a third is acknowledged: the burst is in full swing.
    while True:
        with lock:
            n = len(acked)
        if n >= total // 3 or time.time() - started > 120:
            break
        time.sleep(0.005)
    server.kill9()
    with lock:
        acked_at_kill = len(acked)
    print(f"     SIGKILL after {acked_at_kill} acknowledged appends "
          f"({time.time() - started:.2f} s into the burst)", flush=True)
    time.sleep(0.5)
    server.start()
    print(f"     restarted ({time.time() - started:.2f} s into the burst)", flush=True)
    for t in threads:
        t.join(timeout=300)
    elapsed = time.time() - started
    check(0 < acked_at_kill < total, "the server was killed in the middle of the burst",
          f"acked at kill {acked_at_kill}")
    check(not unexpected, "no append got an answer other than 201, 200 or 503",
          str(unexpected[:5]))

    rows = psql(f"SELECT conversation_id, sequence, message_id, id FROM conversation_log "
                f"WHERE conversation_id LIKE '{prefix}-%'")
    found = {}
    row_count = 0
    for line in rows.splitlines():
        conv, seq, mid, rid = line.split("|")
        row_count += 1
        found.setdefault((conv, int(seq)), []).append((mid, int(rid)))
    lost = sum(1 for e in entries if (e["conversation_id"], e["sequence"]) not in found)
    duplicated = row_count - len(found)
    wrong = sum(1 for i, e in enumerate(entries)
                if (e["conversation_id"], e["sequence"]) in found
                and found[(e["conversation_id"], e["sequence"])][0][0] != e["message_id"])
    id_mismatch = sum(1 for i, (status, rid) in acked.items()
                      if found.get((entries[i]["conversation_id"], entries[i]["sequence"]),
                                   [(None, None)])[0][1] != rid)
    written = sum(1 for status, _ in acked.values() if status == 201)
    repeats = sum(1 for status, _ in acked.values() if status == 200)
    print(f"lost {lost}, duplicated {duplicated}, acknowledged {len(acked)} "
          f"({written} as 201, {repeats} as 200 duplicate after the kill; {row_count} rows; "
          f"{errors['connection']} connection errors and {errors['503']} 503s retried; "
          f"{elapsed:.1f} s, {total / elapsed:.0f} appends/s)", flush=True)
    check(lost == 0, "lost 0")
    check(duplicated == 0 and row_count == total, f"duplicated 0 (exactly {total} rows)",
          f"rows {row_count}")
    check(len(acked) == total, f"acknowledged {total}", str(len(acked)))
    check(wrong == 0, "every row holds its own message_id", str(wrong))
    check(id_mismatch == 0, "every acknowledged id is the row's id", str(id_mismatch))
    check(errors["connection"] > 0, "clients saw the kill (connection errors) and retried")
    batches = server.metric("va_conversation_log_batch_size_count")
    batched = server.metric("va_conversation_log_batch_size_sum")
    if batches:
        print(f"     after the restart: {batched:.0f} entries in {batches:.0f} batches "
              f"(mean {batched / batches:.1f} per INSERT)", flush=True)
    check(batches > 0 and batched / batches > 1.5, "appends are batched (mean batch > 1.5)",
          f"{batched}/{batches}")


# ---------------------------------------------------------------- (b) PostgreSQL restarted


def postgres_restart(server):
    prefix = f"{RUN}-b"
    pid = server.proc.pid
    status, _, body = request(server.port, "POST", "/v1/entries", entry(prefix, 1))
    check(status == 201, "before the restart: 201", f"{status} {body}")
    subprocess.run(["bash", STORES_SH, "stop-postgres"], check=True, timeout=120)
    print("     PostgreSQL stopped", flush=True)
    statuses = []
    retry_after = []
    codes = set()
    for seq in range(2, 22):
        status, headers, body = request(server.port, "POST", "/v1/entries", entry(prefix, seq))
        statuses.append(status)
        retry_after.append(headers.get("retry-after"))
        if isinstance(body, dict) and "error" in body:
            codes.add(body["error"].get("code"))
    check(all(s == 503 for s in statuses), "while PostgreSQL is down: every append 503 (no 201)",
          str(statuses))
    check(all(r == "1" for r in retry_after), "... each with Retry-After: 1", str(retry_after))
    check(codes == {"store_unavailable"}, "... code store_unavailable", str(codes))
    status, _, body = request(server.port, "GET", "/readyz")
    check(status == 503, "while PostgreSQL is down: /readyz 503", f"{status} {body}")
    check(isinstance(body, dict) and "postgres" in json.dumps(body),
          "... naming the postgres check", str(body))
    status, headers, _ = request(server.port, "GET", f"/v1/conversations/{prefix}/entries")
    check(status == 503 and headers.get("retry-after") == "1",
          "while PostgreSQL is down: reads 503 with Retry-After", str(status))
    check(server.proc.poll() is None, "the process keeps running while PostgreSQL is down")

    subprocess.run(["bash", STORES_SH, "start-postgres"], check=True, timeout=120)
    print("     PostgreSQL started again", flush=True)
    back = None
    started = time.time()
    while time.time() - started < 60:
        status, _, body = request(server.port, "POST", "/v1/entries", entry(prefix, 2))
        if status in (200, 201):
            back = status
            break
        time.sleep(0.1)
    check(back == 201, "after PostgreSQL is back: 201 from the same process",
          f"{back} after {time.time() - started:.1f} s")
    print(f"     appends succeed {time.time() - started:.2f} s after PostgreSQL is back",
          flush=True)
    check(server.proc.pid == pid and server.proc.poll() is None, "... without a restart")
    for seq in range(3, 22):
        status, _, _ = request(server.port, "POST", "/v1/entries", entry(prefix, seq))
        if status != 201:
            check(False, f"after the restart: entry {seq} 201", str(status))
            break
    else:
        check(True, "after the restart: the entries refused while it was down are written now")
    ready = False
    for _ in range(100):
        if request(server.port, "GET", "/readyz")[0] == 200:
            ready = True
            break
        time.sleep(0.1)
    check(ready, "after PostgreSQL is back: /readyz 200")
    count = psql(f"SELECT count(*) FROM conversation_log WHERE conversation_id = '{prefix}'")
    check(count == "21", "21 rows for the conversation, each once", count)


# ---------------------------------------------------------------- (c) the API


def bad_input(server):
    c = f"{RUN}-c"
    good = entry(c, 1)
    cases = [
        ("not json", "{", None),
        ("an array", "[]", None),
        ("conversation_id missing", {k: v for k, v in good.items() if k != "conversation_id"},
         "conversation_id"),
        ("conversation_id with a space", dict(good, conversation_id="bad id"), "conversation_id"),
        ("conversation_id too long", dict(good, conversation_id="c" * 129), "conversation_id"),
        ("sequence missing", {k: v for k, v in good.items() if k != "sequence"}, "sequence"),
        ("sequence a string", dict(good, sequence="1"), "sequence"),
        ("sequence negative", dict(good, sequence=-1), "sequence"),
        ("sequence a fraction", dict(good, sequence=1.5), "sequence"),
        ("sequence beyond int64", dict(good, sequence=2 ** 63), "sequence"),
        ("message_id missing", {k: v for k, v in good.items() if k != "message_id"},
         "message_id"),
        ("message_id with a slash", dict(good, message_id="a/b"), "message_id"),
        ("user missing", {k: v for k, v in good.items() if k != "user"}, "user"),
        ("user empty", dict(good, user=""), "user"),
        ("text a number", dict(good, text=5), "text"),
        ("text too long", dict(good, text="x" * 16385), "text"),
        ("text with NUL", dict(good, text="a\u0000b"), "text"),
        ("reply missing", {k: v for k, v in good.items() if k != "reply"}, "reply"),
        ("intent a number", dict(good, intent=3), "intent"),
        ("an unknown field", dict(good, colour="blue"), "colour"),
    ]
    for what, body, field in cases:
        status, _, reply = request(server.port, "POST", "/v1/entries", body)
        message = reply.get("error", {}).get("message", "") if isinstance(reply, dict) else ""
        ok = status == 400 and (field is None or message.startswith(field + ":"))
        check(ok, f"POST {what}: 400" + (f" naming {field}" if field else ""),
              f"{status} {reply}")
    count = psql(f"SELECT count(*) FROM conversation_log WHERE conversation_id LIKE '{c}%'")
    check(count == "0", "nothing was written by the bad requests", count)

    status, _, reply = request(server.port, "POST", "/v1/entries", good)
    check(status == 201 and reply.get("duplicate") is False and isinstance(reply.get("id"), int),
          "POST a new entry: 201 {id, duplicate:false}", f"{status} {reply}")
    first_id = reply.get("id") if isinstance(reply, dict) else None
    status, _, reply = request(server.port, "POST", "/v1/entries", good)
    check(status == 200 and reply == {"duplicate": True, "id": first_id},
          "the same entry again: 200 {duplicate:true, id} (idempotent)", f"{status} {reply}")
    status, _, reply = request(server.port, "POST", "/v1/entries", dict(good, message_id="other"))
    message = reply.get("error", {}).get("message", "") if isinstance(reply, dict) else ""
    check(status == 409 and message.startswith("message_id:"),
          "the same (conversation, sequence) with another message_id: 409 naming message_id",
          f"{status} {reply}")
    status, _, reply = request(server.port, "POST", "/v1/entries", entry(c, 2, intent=None))
    check(status == 201, "intent is optional (null)", f"{status} {reply}")

    get_cases = [
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("since=2026-02-30T00:00:00Z", "since"),
        ("since=2026-01-01T00:00:00", "since"),
        ("after_sequence=x", "after_sequence"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
    ]
    for query, name in get_cases:
        status, _, reply = request(server.port, "GET", f"/v1/conversations/{c}/entries?{query}")
        message = reply.get("error", {}).get("message", "") if isinstance(reply, dict) else ""
        check(status == 400 and message.startswith(name + ":"), f"GET ?{query}: 400 naming {name}",
              f"{status} {reply}")
    status, _, reply = request(server.port, "GET", "/v1/conversations/bad%21id/entries")
    message = reply.get("error", {}).get("message", "") if isinstance(reply, dict) else ""
    check(status == 400 and message.startswith("conversation_id:"),
          "GET with a bad conversation id: 400 naming conversation_id", f"{status} {reply}")


def pagination(server):
    c = f"{RUN}-p"
    order = list(range(1, 26))
    random.shuffle(order)
    results = []

    def post(seq):
        results.append(request(server.port, "POST", "/v1/entries",
                               entry(c, seq, intent="smalltalk" if seq % 2 else "")))

    threads = [threading.Thread(target=post, args=(s,)) for s in order]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(all(r[0] == 201 for r in results), "25 entries posted concurrently: 201 each",
          str([r[0] for r in results]))
    pages = []
    after = None
    for _ in range(5):
        query = "limit=10" + (f"&after_sequence={after}" if after is not None else "")
        status, _, reply = request(server.port, "GET", f"/v1/conversations/{c}/entries?{query}")
        if status != 200:
            check(False, "GET a page: 200", f"{status} {reply}")
            return
        pages.append(reply)
        after = reply["next_after_sequence"]
        if after is None:
            break
    sizes = [len(p["entries"]) for p in pages]
    sequences = [e["sequence"] for p in pages for e in p["entries"]]
    check(sizes == [10, 10, 5], "pages of 10, 10 and 5", str(sizes))
    check(sequences == list(range(1, 26)), "ordered by sequence, each once", str(sequences))
    check([p["next_after_sequence"] for p in pages] == [10, 20, None],
          "next_after_sequence 10, 20, then null",
          str([p["next_after_sequence"] for p in pages]))
    first = pages[0]["entries"][0]
    check(set(first) == {"id", "conversation_id", "sequence", "message_id", "user", "text",
                         "reply", "intent", "created_at"}
          and first["conversation_id"] == c and first["message_id"] == f"m-{c}-1"
          and first["user"] == "u-1" and first["text"] == "hello 1"
          and first["reply"] == "reply 1" and first["intent"] == "smalltalk",
          "an entry has every field with its values", json.dumps(first))
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first["created_at"]) is not None,
          "created_at is RFC 3339 UTC", first["created_at"])
    status, _, reply = request(server.port, "GET", f"/v1/conversations/{c}/entries")
    check(status == 200 and len(reply["entries"]) == 25 and reply["next_after_sequence"] is None,
          "without parameters: all 25 (limit 100), next null", str(status))
    status, _, reply = request(server.port, "GET", f"/v1/conversations/{RUN}-none/entries")
    check(status == 200 and reply == {"entries": [], "next_after_sequence": None},
          "an unknown conversation: an empty list", f"{status} {reply}")

    # The time range, with rows at known times written directly.
    t = f"{RUN}-t"
    psql("INSERT INTO conversation_log (conversation_id, sequence, message_id, user_id, user_text,"
         " reply, created_at) VALUES "
         f"('{t}', 1, 'm1', 'u', 'a', 'b', '2020-01-01T00:00:00Z'),"
         f"('{t}', 2, 'm2', 'u', 'a', 'b', '2020-01-02T00:00:00Z'),"
         f"('{t}', 3, 'm3', 'u', 'a', 'b', '2020-01-02T12:00:00.5Z'),"
         f"('{t}', 4, 'm4', 'u', 'a', 'b', '2020-01-03T00:00:00Z')")
    ranges = [
        ("since=2020-01-02T00:00:00Z&until=2020-01-03T00:00:00Z", [2, 3]),
        ("since=2020-01-02T01:00:00%2B01:00", [2, 3, 4]),
        ("until=2020-01-02T00:00:00Z", [1]),
        ("since=2020-01-02T12:00:00.500001Z", [4]),
        ("since=2020-01-02T12:00:00.5Z&until=2020-01-02T12:00:00.500001Z", [3]),
        ("since=2020-01-01T00:00:00Z&after_sequence=1&limit=2", [2, 3]),
    ]
    for query, want in ranges:
        status, _, reply = request(server.port, "GET", f"/v1/conversations/{t}/entries?{query}")
        got = [e["sequence"] for e in reply["entries"]] if status == 200 else status
        check(got == want, f"time range ?{query}: sequences {want}", str(got))
    status, _, reply = request(server.port, "GET", f"/v1/conversations/{t}/entries?limit=1")
    check(reply["entries"][0]["created_at"] == "2020-01-01T00:00:00.000000Z",
          "created_at as written", str(reply["entries"][0]["created_at"]))


def queue_and_retention(state):
    # A queue of one entry and a long batch wait: concurrent appends beyond it get 503.
    server = Server("retention", state, LOG_QUEUE_CAPACITY=1, LOG_BATCH_WAIT="400ms",
                    LOG_WRITERS=1, LOG_RETENTION="1h", LOG_RETENTION_INTERVAL="200ms")
    server.start()
    try:
        q = f"{RUN}-q"
        results = []

        def post(seq):
            results.append(request(server.port, "POST", "/v1/entries", entry(q, seq)))

        threads = [threading.Thread(target=post, args=(s,)) for s in range(1, 5)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        statuses = sorted(r[0] for r in results)
        full = [r for r in results if r[0] == 503]
        check(201 in statuses and full and all(
            r[1].get("retry-after") == "1" and r[2]["error"]["code"] == "queue_full"
            for r in full), "a full queue: 503 queue_full with Retry-After: 1", str(statuses))

        old = f"{RUN}-r-old"
        recent = f"{RUN}-r-new"
        values = ",".join(f"('{old}', {i}, 'm{i}', 'u', 'a', 'b', now() - interval '2 hours')"
                          for i in range(1, 6))
        values += "," + ",".join(
            f"('{recent}', {i}, 'm{i}', 'u', 'a', 'b', now() - interval '30 minutes')"
            for i in range(1, 4))
        psql("INSERT INTO conversation_log (conversation_id, sequence, message_id, user_id,"
             f" user_text, reply, created_at) VALUES {values}")
        gone = False
        started = time.time()
        while time.time() - started < 15:
            if psql(f"SELECT count(*) FROM conversation_log WHERE conversation_id = '{old}'") == "0":
                gone = True
                break
            time.sleep(0.1)
        check(gone, "retention deletes rows older than LOG_RETENTION (1h)",
              f"after {time.time() - started:.1f} s")
        print(f"     old rows deleted within {time.time() - started:.2f} s", flush=True)
        kept = psql(f"SELECT count(*) FROM conversation_log WHERE conversation_id = '{recent}'")
        check(kept == "3", "... and keeps the younger ones", kept)
        time.sleep(0.3)
        check(re.search(r"retention: deleted \d+ entries", server.tail(200)) is not None,
              "retention logs how many it deleted")
        check(server.stop() == 0, "SIGTERM: exit 0")
    finally:
        server.stop()


def startup_failure(state):
    bad_dsn = os.path.join(state, "bad-dsn")
    with open(bad_dsn, "w") as f:
        f.write(f"postgresql://va:nothing@127.0.0.1:{free_port()}/va\n")
    server = Server("unreachable", state, POSTGRES_DSN_FILE=bad_dsn, DB_STARTUP_TIMEOUT="2s")
    started = time.time()
    server.start(wait=False)
    try:
        code = server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        code = None
    log = server.tail()
    check(code == 1, "PostgreSQL unreachable at start-up: exit 1 after DB_STARTUP_TIMEOUT",
          f"code {code} after {time.time() - started:.1f} s")
    check("unreachable" in log and "DB_STARTUP_TIMEOUT" in log, "... with a clear log line", log)
    check("nothing" not in log, "... the DSN (its password) is not logged")


def metrics(server):
    _, _, text = request(server.port, "GET", "/metrics")
    text = str(text)
    for name in ('va_conversation_log_appends_total{outcome="written"}',
                 'va_conversation_log_appends_total{outcome="duplicate"}',
                 'va_conversation_log_appends_total{outcome="unavailable"}',
                 'va_conversation_log_appends_total{outcome="rejected"}',
                 "va_conversation_log_batch_size_bucket",
                 "va_conversation_log_append_duration_seconds_bucket",
                 "va_conversation_log_queue_depth"):
        check(name in text, f"/metrics has {name}")
    check(server.metric("va_conversation_log_appends_total") > 0
          and 'outcome="rejected"} 0' not in text, "the counters counted")


def main():
    if not os.path.exists(BINARY):
        print(f"FAIL {BINARY} is not built")
        return 1
    if not os.path.exists(DSN_FILE):
        print(f"FAIL no {DSN_FILE}: is the stores fixture up?")
        return 1
    print(f"run {RUN}", flush=True)
    state = tempfile.mkdtemp(prefix="va-conversation-log-test.")
    server = Server("main", state)
    try:
        server.start()
        print("== (a) SIGKILL during a burst of 10,000 concurrent appends", flush=True)
        burst_with_sigkill(server)
        print("== (b) PostgreSQL restarted under the running service", flush=True)
        postgres_restart(server)
        print("== (c) the API: bad input, idempotency, pagination, time ranges", flush=True)
        bad_input(server)
        pagination(server)
        metrics(server)
        print("== (c) the queue bound, retention, start-up without PostgreSQL", flush=True)
        queue_and_retention(state)
        startup_failure(state)
        check(server.stop() == 0, "the main server stops on SIGTERM with exit 0")
    except Exception as e:  # noqa: BLE001 - report and fail
        import traceback
        traceback.print_exc()
        failures.append(f"exception: {e}")
        print(f"server log tail:\n{server.tail()}")
    finally:
        server.stop()
        # PostgreSQL is left running for the other tests of the fixture.
        subprocess.run(["bash", STORES_SH, "start-postgres"], capture_output=True, timeout=120)
    print(f"{checks - len(failures)}/{checks} checks passed", flush=True)
    if failures:
        print("failed: " + "; ".join(failures))
        print(f"logs in {state}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
