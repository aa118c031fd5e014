#!/usr/bin/env python3
"""End-to-end conversation over the real component processes on loopback (hack/local/run.sh):
input-processor -> prefrontal-cortex -> language-center / action-executor / output-manager /
short-term-mem (a real Redis) / long-term-mem (a real PostgreSQL), and conversation-log (the
same PostgreSQL); then long-term-mem's consolidation job over the logged turns.

A stand-in for the outside world listens on 127.0.0.1: the booking and weather APIs the
assistant's actions call, and the channel's callback receiver. The test checks a multi-turn
conversation (a slot asked for and filled, an action called with the slots, a fact remembered
and recalled in another conversation, a signed callback), idempotent retries, turn order under
concurrency, JWT and API-key authentication, and the bad-input answers (400, 401, 413, 422,
429, 431) with nothing half-written.

Environment: VA_SOURCE_DIR (the repository), BIN_DIR (the build tree).
"""
import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import yaml

SOURCE = os.environ.get("VA_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BIN_DIR = os.environ.get("BIN_DIR", os.path.join(SOURCE, "build"))
RUN = os.path.join(SOURCE, "hack", "local", "run.sh")

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


class World(http.server.BaseHTTPRequestHandler):
    """The outside world: booking and weather APIs, and the callback receiver."""
    bookings = []
    weather = []
    callbacks = []
    lock = threading.Lock()
    port = 0

    def log_message(self, *args):
        pass

    def _body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/weather"):
            with World.lock:
                World.weather.append(self.path)
            self._json(200, {"summary": "sunny and 21 degrees", "wind": 3})
        else:
            self._json(404, {})

    def do_POST(self):
        body = self._body()
        if self.path.startswith("/tables"):
            with World.lock:
                World.bookings.append({"path": self.path, "body": body,
                                       "headers": dict(self.headers)})
            self._json(201, {"confirmation": "BK-%d" % len(World.bookings)})
        elif self.path == "/callback":
            with World.lock:
                World.callbacks.append({"body": body, "headers": dict(self.headers)})
            self._json(200, {"ok": True})
        else:
            self._json(404, {})


def free_port_block(count):
    for base in range(21000, 40000, 37):
        ok = True
        for p in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


def request(port, method, path, body=None, headers=None, raw=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = None
    return resp.status, dict(resp.getheaders()), parsed


def raw_http(port, data):
    """Sends bytes as they are and returns the status code of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ")[1]) if answer else 0


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(secret, claims):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(sig)}"


def assistant_yaml(world_port):
    """The default assistant, its actions pointed at the stand-in world, weather reporting the
    forecast the action returns."""
    with open(os.path.join(SOURCE, "workloads", "nlu", "default_assistant.yaml")) as f:
        doc = yaml.safe_load(f)
    world = f"http://127.0.0.1:{world_port}"
    for action in doc["actions"]:
        action.pop("allowed_hosts", None)
        if action["name"] == "book_table":
            action["url"] = world + "/tables?date={date}&time={time}&party_size={party_size}"
        elif action["name"] == "weather":
            action["url"] = world + "/weather?city={city}"
            action["result_slots"] = {"forecast": "/summary"}
    for intent in doc["intents"]:
        if intent["name"] == "weather":
            intent["variables"] = ["forecast"]
            intent["responses"] = ["The weather in {city}: {forecast}."]
    return yaml.safe_dump(doc, sort_keys=False)


def main():
    world = http.server.ThreadingHTTPServer(("127.0.0.1", 0), World)
    threading.Thread(target=world.serve_forever, daemon=True).start()
    world_port = world.server_address[1]
    World.port = world_port

    state = tempfile.mkdtemp(prefix="va-conversation-")
    assistant = os.path.join(state, "assistant.yaml")
    with open(assistant, "w") as f:
        f.write(assistant_yaml(world_port))
    port = free_port_block(10)
    env = dict(os.environ, BIN_DIR=BIN_DIR, VA_LOCAL_DIR=state, VA_LOCAL_PORT=str(port),
               ASSISTANT_FILE=assistant, ACTION_ALLOW_ADDRESSES="127.0.0.1",
               RATE_LIMIT_RPS="5", RATE_LIMIT_BURST="60")
    subprocess.run(["bash", RUN, "start"], env=env, check=True)
    try:
        run(port, state)
        stores(port, env)
    finally:
        subprocess.run(["bash", RUN, "stop"], env=env, check=False)
        world.shutdown()
    # Secrets never reach the logs.
    key = open(os.path.join(state, "api-key")).read().strip()
    logs = "".join(open(os.path.join(state, f)).read() for f in os.listdir(state)
                   if f.endswith(".log"))
    check(key not in logs and "eyJ" not in logs, "no API key or JWT in any component's log")
    print(f"conversation test: {checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def stores(port, env):
    """What the conversation left in the stores, read from the services that keep it."""
    stm, ltm, log = port + 5, port + 6, port + 7
    status, _, r = request(stm, "GET", "/v1/conversations/book-1/context")
    check(status == 200 and r["last_sequence"] == 3 and len(r["turns"]) == 3,
          "short-term-mem (Redis) holds book-1's three turns", r)
    status, _, r = request(ltm, "GET", "/v1/users/alice/facts?q=locker%20code")
    check(status == 200 and any("4512" in f["value"] for f in r["facts"]),
          "long-term-mem (PostgreSQL) holds alice's locker code", r)
    status, _, r = request(log, "GET", "/v1/conversations/book-1/entries")
    check(status == 200 and [e["sequence"] for e in r["entries"]] == [1, 2, 3]
          and r["entries"][0]["text"] == "book a table for 2",
          "conversation-log (PostgreSQL) has book-1's turns 1, 2, 3", r)
    status, _, r = request(log, "GET", "/v1/conversations/burst-1/entries?limit=1000")
    check(status == 200 and [e["sequence"] for e in r["entries"]] == list(range(1, 25)),
          "conversation-log has burst-1's 24 turns, each once", len(r["entries"]))
    done = subprocess.run(["bash", RUN, "consolidate"], env=env, capture_output=True, text=True)
    check(done.returncode == 0, "the consolidation job ran", done.stderr[-500:])
    status, _, r = request(ltm, "GET", "/v1/summaries?conversation=book-1")
    check(status == 200 and len(r["summaries"]) >= 1 and "book_table" in r["summaries"][0]["text"],
          "consolidation wrote a summary of book-1", r)


def run(port, state):
    key = open(os.path.join(state, "api-key")).read().strip()
    jwt_secret = open(os.path.join(state, "jwt-secret")).read().strip().encode()
    webhook_secret = open(os.path.join(state, "webhook-secret")).read().strip().encode()
    auth = {"Authorization": f"Bearer {key}"}
    callback = f"http://127.0.0.1:{World.port}/callback"

    def say(conversation, text, headers=None, **extra):
        body = {"text": text, "user": "alice"}
        body.update(extra)
        return request(port, "POST", f"/v1/conversations/{conversation}/messages", body,
                       dict(auth, **(headers or {})))

    # 1. A slot asked for and filled over three turns, then the action with those slots.
    status, _, r = say("book-1", "book a table for 2", callback_url=callback)
    check(status == 200 and r["reply"]["intent"] == "book_table", "turn 1 understood book_table",
          r)
    check(r["reply"]["text"] == "For which day?", "turn 1 asks for the missing date", r)
    check(r["turn"] == 1 and r["callback"] and r["callback"]["status"] == "queued",
          "turn 1 is turn 1 and its callback is queued", r)
    status, _, r = say("book-1", "tomorrow")
    check(status == 200 and r["reply"]["text"] == "At what time?", "turn 2 asks for the time", r)
    check(len(World.bookings) == 0, "no booking before every slot is filled")
    status, _, r = say("book-1", "at 7pm")
    check(status == 200 and r["reply"]["intent"] == "book_table", "turn 3 continues book_table", r)
    check(r["reply"]["action"] and r["reply"]["action"]["status"] == "ok",
          "turn 3 ran the booking action", r)
    check(len(World.bookings) == 1, "the booking API was called once", World.bookings)
    if World.bookings:
        path = World.bookings[0]["path"]
        check("party_size=2" in path and ("time=19%3A00" in path or "time=19:00" in path),
              "the booking carried party_size 2 and time 19:00", path)
        check(World.bookings[0]["headers"].get("Idempotency-Key", "").startswith("book-1:"),
              "the booking carried an Idempotency-Key", World.bookings[0]["headers"])
    check(r["reply"]["text"].startswith("Booked a table for 2 on ") and "19:00" in r["reply"]["text"],
          "turn 3 confirms the booking", r)

    # 2. A fact remembered in one conversation and recalled in another one of the same user.
    status, _, r = say("facts-1", "remember that my locker code is 4512")
    check(status == 200 and r["reply"]["intent"] == "remember_fact", "remember_fact understood", r)
    status, _, r = say("facts-2", "what's my locker code")
    check(status == 200 and r["reply"]["intent"] == "recall_fact", "recall_fact understood", r)
    check("4512" in r["reply"]["text"], "the fact is recalled in a later conversation", r)
    status, _, r = request(port, "POST", "/v1/conversations/facts-3/messages",
                           {"text": "what's my locker code", "user": "bob"}, auth)
    check(status == 200 and "4512" not in r["reply"]["text"], "another user does not get it", r)

    # 3. An action whose result fills the reply.
    status, _, r = say("weather-1", "what's the weather in paris")
    check(status == 200 and "sunny and 21 degrees" in r["reply"]["text"]
          and "Paris" in r["reply"]["text"], "the weather action's result is in the reply", r)
    check(len(World.weather) == 1 and "city=Paris" in World.weather[0], "weather API called once",
          World.weather)

    # 4. The callbacks of book-1 (three turns) arrive signed.
    deadline = time.time() + 15
    while time.time() < deadline and len(World.callbacks) < 3:
        time.sleep(0.05)
    check(len(World.callbacks) >= 3, "three callbacks delivered for book-1", len(World.callbacks))
    valid = 0
    for cb in World.callbacks:
        ts = cb["headers"].get("X-VA-Timestamp", "")
        expected = "v1=" + hmac.new(webhook_secret, ts.encode() + b"." + cb["body"],
                                    hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, cb["headers"].get("X-VA-Signature", "")):
            valid += 1
    check(valid == len(World.callbacks) and valid > 0, "every callback's signature verifies",
          f"{valid}/{len(World.callbacks)}")
    texts = [json.loads(cb["body"])["reply"]["text"] for cb in World.callbacks]
    check("For which day?" in texts and any(t.startswith("Booked") for t in texts),
          "the callbacks carry the replies", texts)

    # 5. Idempotency-Key: the same reply again, no second effect; another body is refused.
    idem = {"Idempotency-Key": "retry-1"}
    status, _, first = say("idem-1", "what's the weather in london", idem)
    status2, headers2, again = say("idem-1", "what's the weather in london", idem)
    check(status == 200 and status2 == 200 and first == again,
          "a retry with the same Idempotency-Key gets the same reply", (first, again))
    check(headers2.get("Idempotent-Replayed") == "true", "the retry is marked Idempotent-Replayed")
    check(sum("London" in w for w in World.weather) == 1, "the retry did not call the action again",
          World.weather)
    status, _, r = say("idem-1", "what's the weather in rome", idem)
    check(status == 422 and "Idempotency-Key" in r["error"]["message"],
          "the same key with another body is 422 naming the header", r)
    status, _, r = say("idem-1", "hello", {"Idempotency-Key": "bad key with spaces"})
    check(status == 400 and "Idempotency-Key" in r["error"]["message"],
          "a malformed Idempotency-Key is 400 naming the header", r)

    # 6. Concurrent messages to one conversation: one turn each, no turn lost or repeated.
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda i: say("burst-1", f"hello number {i}"), range(24)))
    turns = sorted(r[2]["turn"] for r in results if r[0] == 200)
    check(turns == list(range(1, 25)), "24 concurrent messages became turns 1..24",
          [r[0] for r in results])

    # 7. JWT: a valid token; the user is its subject; a wrong audience or signature is 401.
    now = int(time.time())
    claims = {"iss": "va-local", "aud": "va", "sub": "carol", "exp": now + 300, "iat": now}
    token = hs256(jwt_secret, claims)
    status, _, r = request(port, "POST", "/v1/conversations/jwt-1/messages",
                           {"text": "remember that my gate code is 7788"},
                           {"Authorization": f"Bearer {token}"})
    check(status == 200, "a valid HS256 JWT is accepted", r)
    status, _, r = request(port, "POST", "/v1/conversations/jwt-2/messages",
                           {"text": "what's my gate code", "user": "carol"},
                           {"Authorization": f"Bearer {token}"})
    check(status == 200 and "7788" in r["reply"]["text"], "the JWT's subject owns the fact", r)
    status, _, r = request(port, "POST", "/v1/conversations/jwt-2/messages",
                           {"text": "hi", "user": "mallory"}, {"Authorization": f"Bearer {token}"})
    check(status == 403 and r["error"]["message"].startswith("user:"),
          "a body naming another user than the token's subject is 403", r)
    for what, bad in (("audience", dict(claims, aud="other")),
                      ("expired", dict(claims, exp=now - 3600)),
                      ("issuer", dict(claims, iss="evil"))):
        status, headers, r = request(port, "POST", "/v1/conversations/jwt-3/messages",
                                     {"text": "hi"},
                                     {"Authorization": f"Bearer {hs256(jwt_secret, bad)}"})
        check(status == 401 and "Bearer" in headers.get("WWW-Authenticate", ""),
              f"a JWT with a wrong {what} is 401", r)
    status, _, r = request(port, "POST", "/v1/conversations/jwt-3/messages", {"text": "hi"},
                           {"Authorization": f"Bearer {hs256(jwt_secret, dict(claims, sub='s' * 200))}"})
    check(status == 403 and "sub" in r["error"]["message"], "a JWT whose sub is too long is 403", r)
    status, _, r = request(port, "POST", "/v1/conversations/jwt-3/messages", {"text": "hi"},
                           {"Authorization": f"Bearer {hs256(b'x' * 32, claims)}"})
    check(status == 401, "a JWT signed with another secret is 401", r)

    # 8. Bad input: the error names the field or header; nothing is written.
    status, _, r = say("bad-1", "hello")
    check(status == 200 and r["turn"] == 1, "bad-1 starts at turn 1", r)
    path = "/v1/conversations/bad-1/messages"
    status, _, r = request(port, "POST", path, raw=b'{"text": "hi"', headers=auth)
    check(status == 400 and r["error"]["code"] == "malformed_json", "malformed JSON is 400", r)
    status, _, r = request(port, "POST", path, {"text": "hi", "colour": "red"}, auth)
    check(status == 400 and r["error"]["message"].startswith("colour:"),
          "an unknown field is 400 naming it", r)
    status, _, r = request(port, "POST", path, {"text": 5}, auth)
    check(status == 400 and r["error"]["message"].startswith("text:"),
          "an ill-typed field is 400 naming it", r)
    status, _, r = request(port, "POST", path, {"user": "alice"}, auth)
    check(status == 400 and r["error"]["message"] == "text: is required",
          "a missing field is 400 naming it", r)
    status, _, r = request(port, "POST", path, {"text": "hi", "metadata": [1]}, auth)
    check(status == 400 and r["error"]["message"].startswith("metadata:"),
          "an ill-typed metadata is 400 naming it", r)
    for target in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook",
                   "http://localhost:1/x", "ftp://example.com/x"):
        status, _, r = request(port, "POST", path, {"text": "hi", "callback_url": target}, auth)
        check(status == 400 and r["error"]["message"].startswith("callback_url:"),
              f"a callback_url of {target} is 400 naming it", r)
    status, _, r = request(port, "POST", "/v1/conversations/bad%20id/messages", {"text": "hi"},
                           auth)
    check(status == 400 and r["error"]["message"].startswith("conversation_id:"),
          "a bad conversation id is 400 naming it", r)
    status, _, r = request(port, "POST", path, raw=b'{"text":"' + b"a" * (2 << 20) + b'"}',
                           headers=auth)
    check(status == 413, "a 2 MiB body is 413", status)
    many = b"".join(b"X-Extra-%d: 1\r\n" % i for i in range(200))
    status = raw_http(port, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + many +
                      b"Content-Length: 2\r\n\r\n{}")
    check(status == 431, "200 headers are 431", status)
    status = raw_http(port, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Big: " +
                      b"a" * (64 << 10) + b"\r\nContent-Length: 2\r\n\r\n{}")
    check(status == 431, "a 64 KiB header is 431", status)
    status, headers, r = request(port, "POST", path, {"text": "hi"})
    check(status == 401 and r["error"]["message"] == "missing Authorization header"
          and "Bearer" in headers.get("WWW-Authenticate", ""), "no credentials is 401", r)
    status, _, r = request(port, "POST", path, {"text": "hi"},
                           {"Authorization": "Bearer va_not_a_key"})
    check(status == 401 and "va_not_a_key" not in json.dumps(r), "a wrong API key is 401", r)
    status, _, r = request(port, "POST", path, {"text": "hi"}, {"Authorization": f"Basic {key}"})
    check(status == 401, "a wrong scheme is 401", r)
    status, _, r = say("bad-1", "hello again")
    check(status == 200 and r["turn"] == 2, "after all that, bad-1's next turn is 2 (nothing "
          "half-written)", r)

    # 9. The rate limit: a caller beyond its burst gets 429 with Retry-After, others do not.
    limited = None
    for _ in range(80):
        status, headers, r = request(port, "POST", path, raw=b"{", headers=auth)
        if status == 429:
            limited = (headers, r)
            break
    check(limited is not None and int(limited[0].get("Retry-After", "0")) >= 1,
          "a burst beyond the bucket is 429 with Retry-After", limited)
    status, _, r = request(port, "POST", "/v1/conversations/jwt-4/messages", {"text": "hello"},
                           {"Authorization": f"Bearer {token}"})
    check(status == 200, "another caller is not limited", r)

    # 10. The OpenAPI document.
    status, _, doc = request(port, "GET", "/openapi.json")
    check(status == 200 and "/v1/conversations/{conversation_id}/messages" in doc["paths"],
          "GET /openapi.json describes the messages endpoint", status)


if __name__ == "__main__":
    sys.exit(main())
