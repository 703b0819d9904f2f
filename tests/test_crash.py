"""SIGKILL at any moment: `monitor check` killed 50 times while polling and delivering.

After every kill the check is run again until it exits 0. Across all runs every message owed
reaches the webhook receivers, and a receiver never sees two different idempotency keys
(webhook-id) for one (subscription, document) pair; the same key twice is the at-least-once
resend after a crash between "sent" and "marked sent", which is what the key is for.

Each run is `python -m monitor check` in a process of its own. To keep 100-odd runs within a
minute, the interpreter start-up (about 1.5 s of imports, during which a kill tests nothing) is
paid once: a launcher process imports the package, then forks a child per run that executes
`python -m monitor …` (runpy) with its own output, database connections and event loop; the
test SIGKILLs that child. The kill moment is drawn (seeded) from the whole life of a run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from sqlmodel import col

from monitor.store import Store, make_engine
from monitor.store.records import DeliveryRecord
from tests.fixture_server import FixtureServer, Received, Route
from tests.portal import Post, detail_page, list_page

RUNS = 50
SEED = 20260305
SUBSCRIPTIONS = ("alpha", "beta")
CONFIG = """\
version: 1
defaults: {{timeout: 5s, allow_private: true, per_host_delay: 0s, retries: 0}}
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
    follow: true
    baseline: false
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
subscriptions:
  - id: alpha
    mode: immediate
    channel: {{kind: webhook, url: "{base}/hook/alpha", timeout: 5s}}
  - id: beta
    mode: immediate
    channel: {{kind: webhook, url: "{base}/hook/beta", timeout: 5s}}
"""
LAUNCHER = """
import contextlib, gc, json, os, runpy, signal, sys, threading, time
import monitor.cli  # imported once, before any fork

with contextlib.redirect_stdout(sys.stderr):  # warm the caches of pure, constant data
    monitor.cli.main(json.loads(sys.argv[1]))
assert threading.active_count() == 1, "forking is safe only without other threads"
gc.freeze()  # the children's collector leaves the shared heap alone (no copy-on-write storm)


def start(args, log):
    pid = os.fork()
    if pid:
        return pid
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    sys.argv = ["monitor", *args]
    code = 0
    try:
        runpy.run_module("monitor", run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 70
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def reap(pid, kill_after):
    # The parent kills its own child before reaping it: the pid cannot be anyone else's.
    started = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), time.monotonic() - started
        if kill_after is not None and time.monotonic() - started >= kill_after:
            os.kill(pid, signal.SIGKILL)
            kill_after = None
        time.sleep(0.002)


for line in sys.stdin:
    request = json.loads(line)
    pid = start(request["args"], request["log"])
    code, seconds = reap(pid, request["kill_after"])
    print(json.dumps({"code": code, "seconds": seconds}), flush=True)
"""
# Characters for filler text: common, and forming neither place names nor figures.
FILLER = ("的一是了不人在有这个上们来到时大为子你说生年着就那和要出也得里后自以会家可下而过天"
          "去能对小多然于心学么之都好看起发当没成只如事把还用样道想作种开美总从无情己面最女但"
          "现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间知世什两次使身者被高已亲")


class Launcher:
    """Starts `python -m monitor …` runs as forks of one pre-imported interpreter."""

    def __init__(self, workdir: Path, warm_up: list[str]) -> None:
        env = {**os.environ, "MONITOR_WORKERS": "0", "MONITOR_LOG_LEVEL": "INFO"}
        self.log = workdir / "runs.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, json.dumps(warm_up)], env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                bufsize=1)

    def run(self, args: list[str], kill_after: float | None = None) -> tuple[int, float]:
        """One run of `monitor ARGS`, SIGKILLed after `kill_after` seconds if still going.

        Returns the exit code (-9 when killed) and how long the run lived.
        """
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"args": args, "log": str(self.log), "kill_after": kill_after}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        return int(answer["code"]), float(answer["seconds"])

    def close(self) -> None:
        """End the launcher (it exits when its input ends), or kill it if it does not."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()



@contextmanager
def launcher(workdir: Path, warm_up: list[str]) -> Iterator[Launcher]:
    started = Launcher(workdir, warm_up)
    try:
        yield started
    finally:
        started.close()


@dataclass
class Receiver:
    """Webhook consumers: per (subscription, document URL), the webhook-ids received."""

    keys: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Received) -> Route:
        time.sleep(0.02)  # a consumer takes a moment: kills land mid-request too
        try:
            payload = json.loads(request.body)
        except ValueError:  # the sender died mid-body: nothing was delivered
            return Route(b"incomplete", 400)
        subscription = request.path.rsplit("/", 1)[-1]
        with self.lock:
            self.received += 1
            for item in payload["items"]:
                pair = (subscription, item["url"])
                self.keys.setdefault(pair, set()).add(str(request.headers.get("webhook-id")))
        return Route(b"", 204)


class Portal:
    """A list page that gains a post or two per run, each post a story of its own."""

    def __init__(self, server: FixtureServer, rng: random.Random) -> None:
        self.server, self.rng = server, rng
        self.posts: list[Post] = []

    def publish(self, count: int) -> None:
        for _ in range(count):
            number = len(self.posts) + 1
            post = Post(f"p{number}", f"关于推进区块链应用第{number}号事项的通知", "2026-03-05",
                        [self._filler(60) + "区块链" + self._filler(60), self._filler(80)])
            self.posts.append(post)
            page = detail_page(post)
            self.server.set(f"/zcwj/{post.slug}.html", page, delay=0.01)
        newest = list(reversed(self.posts))[:12]
        self.server.set("/zcwj/index.html", list_page(newest, "./"))

    def urls(self) -> set[str]:
        return {self.server.url(f"/zcwj/{post.slug}.html") for post in self.posts}

    def _filler(self, length: int) -> str:
        return "".join(self.rng.choice(FILLER) for _ in range(length)) + "。"


def _lapse_leases(state: Path) -> None:
    """Time passes after a crash: the killed sender's claims lapse (LEASE, 10 minutes)."""
    engine = make_engine(f"sqlite:///{state / 'monitor.db'}")
    try:
        with engine.begin() as connection:
            now = datetime.now(UTC)
            connection.execute(update(DeliveryRecord).where(
                col(DeliveryRecord.status) == "pending",
                col(DeliveryRecord.next_attempt_at) > now).values(next_attempt_at=now))
    finally:
        engine.dispose()


def _run_until_clean(runner: Launcher, args: list[str], state: Path) -> list[int]:
    """Restart after a kill until a run exits 0; returns the exit codes of the restarts."""
    codes: list[int] = []
    while len(codes) < 5 and 0 not in codes:
        _lapse_leases(state)
        codes.append(runner.run(args)[0])
    assert codes[-1] == 0, f"no clean run after a kill: exit codes {codes}\n{_tail(runner)}"
    return codes


def _tail(runner: Launcher) -> str:
    return "\n".join(runner.log.read_text("utf-8", errors="replace").splitlines()[-30:])


def test_sigkill_at_random_moments_loses_and_repeats_nothing(
        tmp_path: Path, http_server: FixtureServer) -> None:
    rng = random.Random(SEED)
    portal, receiver = Portal(http_server, rng), Receiver()
    for subscription in SUBSCRIPTIONS:
        http_server.answer(f"/hook/{subscription}", receiver)
    config, state = tmp_path / "sources.yaml", tmp_path / "state"
    config.write_text(CONFIG.format(base=http_server.base_url), "utf-8")
    args = ["--config", str(config), "--state", str(state), "check"]
    warm_up = ["--config", str(config), "--state", str(tmp_path / "scratch"), "check",
               "--dry-run"]  # the launcher's: reads the portal, writes and sends nothing
    history: list[tuple[int, float, list[int]]] = []  # exit code, seconds lived, restarts
    portal.publish(2)
    with launcher(tmp_path, warm_up) as runner:
        assert runner.run(args)[0] == 0, f"the first run creates the database\n{_tail(runner)}"
        portal.publish(1)
        code, lifetime = runner.run(args)
        assert code == 0, f"a clean run, timed\n{_tail(runner)}"
        for _ in range(RUNS):
            portal.publish(rng.choice((1, 1, 2)))
            code, lived = runner.run(args, kill_after=rng.uniform(0, lifetime))
            assert code in {0, -signal.SIGKILL}, f"exit code {code}\n{_tail(runner)}"
            history.append((code, lived, _run_until_clean(runner, args, state) if code else []))
    _assert_everything_owed_arrived_under_one_key(portal, receiver, state)
    kills = sum(1 for code, _, _ in history if code)
    assert kills >= RUNS // 2, f"only {kills} of {RUNS} runs were cut short: {history}"


def _assert_everything_owed_arrived_under_one_key(portal: Portal, receiver: Receiver,
                                                  state: Path) -> None:
    owed = {(subscription, url) for subscription in SUBSCRIPTIONS for url in portal.urls()}
    assert set(receiver.keys) == owed, "every owed message arrived, and nothing else"
    repeated = {pair: keys for pair, keys in receiver.keys.items() if len(keys) > 1}
    assert not repeated, f"two idempotency keys for one (subscription, document): {repeated}"
    engine = make_engine(f"sqlite:///{state / 'monitor.db'}")
    try:
        store = Store(engine)
        assert not store.deliveries("pending") and not store.deliveries("dead")
        assert all(not store.pending_alerts(subscription) for subscription in SUBSCRIPTIONS)
        assert len(store.deliveries("sent")) == len(owed)
    finally:
        engine.dispose()
