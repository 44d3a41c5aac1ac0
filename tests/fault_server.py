"""A fake OpenAI-compatible server for the endpoint-fault tests, stdlib only, bound to 127.0.0.1.

    python tests/fault_server.py [--tokenizer DIR] [--slow SECONDS] [--max-seconds N] [--max-requests N]

prints its port on the first line of stdout and serves until it is terminated, ``--max-seconds`` pass or
``--max-requests`` requests were answered (so a forgotten server cannot loop for ever).

The first path segment picks the fault, optional further segments name the client (so that clients
sharing a server are counted apart), then comes the usual API path (``/<fault>[/<name>]/v1/completions``
for lm-eval's ``local-completions``, ``/<fault>[/<name>]/v1/chat/completions`` for
``local-chat-completions``):

    ok            a well-formed answer
    429-once      429 (with Retry-After) on the first attempt of each distinct request, then an answer
    500-once      the same with HTTP 500
    slow-once     the first attempt of each distinct request sleeps ``--slow`` seconds, then an answer
    500           always HTTP 500
    slow          always sleeps ``--slow`` seconds before answering
    badjson       HTTP 200 with a body that is not JSON
    nochoices     HTTP 200 with a JSON object without "choices"
    emptychoices  HTTP 200 with "choices": []
    first-500     the first distinct request on this path always gets 500, every other an answer
    tools         a chat request with ``tools`` is answered with one tool call (no content): the first tool's name,
                  each of its required parameters set to "x" (what a served model's tool call looks like)

Chat answers are ``ANSWER`` (the text "42"). Completions with ``echo`` (log-likelihood requests) need the
prompt's tokens: with ``--tokenizer DIR`` (a folder holding ``tokenizer.json``) the server tokenizes the
prompt as the client does and returns one deterministic log-probability per token.

``GET /stats`` returns ``{"requests": {prefix: n}, "attempts": {prefix: {request hash: n}},
"authorization": [the distinct Authorization headers seen], "total": n}``, where prefix is the path
before ``/v1/`` (``<fault>[/<name>]``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "42"
FAULTS = ("ok", "429-once", "500-once", "slow-once", "500", "slow", "badjson", "nochoices", "emptychoices",
          "first-500", "tools")


class State:
    def __init__(self, tokenizer, slow: float, max_requests: int):
        self.tokenizer = tokenizer
        self.slow = slow
        self.max_requests = max_requests
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.attempts: dict[str, dict[str, int]] = {}
        self.authorization: list[str] = []
        self.first: dict[str, str] = {}  # first-500: prefix -> the request that always fails
        self.total = 0


def token_logprob(token_id: int) -> float:
    return -round(0.05 + (token_id * 2654435761 % 1000) / 200.0, 6)


def completion_choice(state: State, index: int, prompt: str, echo: bool) -> dict:
    if not echo:
        return {"index": index, "text": ANSWER, "logprobs": None, "finish_reason": "stop"}
    if state.tokenizer is None:
        raise ValueError("log-likelihood requests need --tokenizer")
    encoding = state.tokenizer.encode(prompt, add_special_tokens=False)
    tokens = list(encoding.tokens) + ["!"]
    logprobs = [None] + [token_logprob(t) for t in encoding.ids[1:]] + [-0.5]
    top = [None] + [{tok: lp} for tok, lp in zip(tokens[1:], logprobs[1:])]
    return {"index": index, "text": prompt + "!", "finish_reason": "length",
            "logprobs": {"tokens": tokens, "token_logprobs": logprobs, "top_logprobs": top}}


def tool_call(tools: list[dict]) -> dict:
    function = tools[0]["function"]
    arguments = {name: "x" for name in function.get("parameters", {}).get("required", [])}
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function",
         "function": {"name": function["name"], "arguments": json.dumps(arguments)}}]}


def answer(state: State, path: str, body: dict) -> dict:
    if path.endswith("/chat/completions") and path.lstrip("/").startswith("tools") and body.get("tools"):
        return {"id": "chatcmpl-fault", "object": "chat.completion", "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": tool_call(body["tools"]), "finish_reason": "tool_calls"}]}
    if path.endswith("/chat/completions"):
        return {"id": "chatcmpl-fault", "object": "chat.completion", "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                             "finish_reason": "stop"}]}
    prompts = body.get("prompt")
    prompts = [prompts] if isinstance(prompts, str) else list(prompts or [])
    return {"id": "cmpl-fault", "object": "text_completion", "model": body.get("model", "fake"),
            "choices": [completion_choice(state, i, p, bool(body.get("echo"))) for i, p in enumerate(prompts)]}


class Handler(BaseHTTPRequestHandler):
    state: State  # set on the class by main()
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, payload: bytes, content_type: str = "application/json", extra=()) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in extra:
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
            pass

    def do_GET(self) -> None:
        state = self.state
        if self.path != "/stats":
            self._send(404, b'{"error": "not found"}')
            return
        with state.lock:
            blob = json.dumps({"requests": state.requests, "attempts": state.attempts,
                               "authorization": state.authorization, "total": state.total})
        self._send(200, blob.encode())

    def do_POST(self) -> None:
        state = self.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        prefix = self.path.split("/v1/", 1)[0].strip("/")
        fault = prefix.split("/", 1)[0]
        digest = hashlib.sha256(raw).hexdigest()[:16]
        with state.lock:
            state.total += 1
            if state.total > state.max_requests:
                self._send(503, b'{"error": "request budget of the fault server spent"}')
                return
            state.requests[prefix] = state.requests.get(prefix, 0) + 1
            seen = state.attempts.setdefault(prefix, {})
            seen[digest] = attempt = seen.get(digest, 0) + 1
            auth = self.headers.get("Authorization")
            if auth and auth not in state.authorization:
                state.authorization.append(auth)
            first = state.first.setdefault(prefix, digest)
        if fault not in FAULTS:
            self._send(404, json.dumps({"error": f"unknown fault '{fault}'"}).encode())
            return
        if fault == "500" or (fault == "500-once" and attempt == 1) or (fault == "first-500" and digest == first):
            self._send(500, b'{"error": {"message": "injected server error", "type": "server_error"}}')
            return
        if fault == "429-once" and attempt == 1:
            self._send(429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}',
                       extra=[("Retry-After", "1")])
            return
        if fault == "slow" or (fault == "slow-once" and attempt == 1):
            time.sleep(state.slow)
        if fault == "badjson":
            self._send(200, b'{"choices": [{"index": 0, "message": ', "application/json")
            return
        if fault == "nochoices":
            self._send(200, b'{"id": "x", "object": "chat.completion", "model": "fake"}')
            return
        if fault == "emptychoices":
            self._send(200, b'{"id": "x", "object": "chat.completion", "model": "fake", "choices": []}')
            return
        try:
            body = json.loads(raw or b"{}")
            payload = answer(state, self.path, body)
        except Exception as exc:  # noqa: BLE001 - report the server's own failure to the client
            self._send(400, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
            return
        self._send(200, json.dumps(payload).encode())


class FaultServer:
    """The server in a subprocess, for tests: ``with FaultServer() as server: server.url("500")``.
    Started here, stopped here by its PID (terminate, then kill after 10 s)."""

    def __init__(self, tokenizer: str | None = None, slow: float = 3.0):
        self.args = [sys.executable, __file__, "--slow", str(slow), "--max-seconds", "900"]
        if tokenizer:
            self.args += ["--tokenizer", str(tokenizer)]
        self.proc = None
        self.port = None

    def __enter__(self) -> "FaultServer":
        import subprocess

        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # the port, once it listens
        if not line.strip().isdigit():
            self.__exit__()
            raise RuntimeError(f"fault server did not start (printed {line!r})")
        self.port = int(line)
        return self

    def __exit__(self, *exc) -> None:
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def url(self, fault: str, chat: bool = True, name: str = "") -> str:
        prefix = f"{fault}/{name}" if name else fault
        return f"http://127.0.0.1:{self.port}/{prefix}/v1/" + ("chat/completions" if chat else "completions")

    def stats(self) -> dict:
        from urllib.request import urlopen

        with urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as response:
            return json.loads(response.read())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", help="folder with tokenizer.json (for log-likelihood requests)")
    parser.add_argument("--slow", type=float, default=3.0, help="seconds a slow answer takes")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--max-requests", type=int, default=2000)
    args = parser.parse_args(argv)
    tokenizer = None
    if args.tokenizer:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(f"{args.tokenizer}/tokenizer.json")
    Handler.state = State(tokenizer, args.slow, args.max_requests)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    timer = threading.Timer(args.max_seconds, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
