"""Retries: what passes with time is sent again under the same idempotency key, within a bounded budget."""

from __future__ import annotations

import itertools
import socket
import threading
import time
import unittest
from typing import List, Optional

from live_engine import LiveEngine, free_port, wait_for
from private_redis import PrivateRedis

from tokens_client import RetryEvent, RetryPolicy, TokenEngine, TokenEngineConnectionError, TokenEngineError

PATIENT = RetryPolicy(max_attempts=10, max_elapsed=20.0, base_delay=0.1, max_delay=1.0)


class RedisDown(unittest.TestCase):
    """A real dependency down: the engine on a redis-server of the test's own, which the test kills."""

    redis: PrivateRedis
    live: LiveEngine

    @classmethod
    def setUpClass(cls) -> None:
        cls.redis = PrivateRedis().start()
        cls.live = LiveEngine(env={"REDIS_URL": cls.redis.url}).start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.live.close()
        cls.redis.remove()

    def test_a_use_refused_with_503_is_sent_again_with_its_key_once_redis_is_back_and_applied_once(self) -> None:
        setup = self.live.client()
        setup.create_account("outage-py", plan="monthly_pro")
        self.redis.kill()

        refusals: List[RetryEvent] = []

        def redis_comes_back(event: RetryEvent) -> None:
            refusals.append(event)
            if len(refusals) == 1:
                self.redis.start()

        engine = self.live.client(retry=PATIENT, on_retry=redis_comes_back)
        accepted = engine.record_usage("outage-py", "resume_upload", "during-the-outage", metadata={"page": "04_Resume_Upload.py"})
        self.assertEqual((accepted.status, accepted.idempotency_key), ("queued", "during-the-outage"))
        first = refusals[0].error
        self.assertEqual((first.status, first.code, first.details), (503, "dependency_unavailable", {"dependency": "redis"}))
        self.assertTrue(all(r.path == "/v1/usage" and r.error.status == 503 for r in refusals))
        self.assertEqual([r.attempt for r in refusals], list(range(1, len(refusals) + 1)))

        settled = engine.wait_for_usage("during-the-outage")
        self.assertEqual((settled.status, settled.cost, settled.balance_after), ("applied", 3, 97))
        account = engine.account("outage-py")
        self.assertEqual((account.balance, account.used_this_period), (97, 3))
        self.assertEqual(sum(1 for e in engine.ledger("outage-py").entries if e.kind == "use"), 1)

    def test_without_retries_the_503_is_raised_at_once_nothing_is_queued_and_the_same_use_sent_later_is_applied(self) -> None:
        self.live.client().create_account("outage-raw", plan="monthly_pro")
        self.redis.kill()
        try:
            with self.assertRaises(TokenEngineError) as refused:
                self.live.raw_client().record_usage("outage-raw", "resume_upload", "refused-once")
        finally:
            self.redis.start()
        self.assertEqual((refused.exception.code, refused.exception.status, refused.exception.attempts), ("dependency_unavailable", 503, 1))
        self.assertTrue(refused.exception.retryable)
        engine = self.live.client(retry=PATIENT)
        with self.assertRaises(TokenEngineError) as missing:
            engine.usage_status("refused-once")
        self.assertEqual(missing.exception.code, "usage_not_found")
        # The service sends it again later, under the same key: applied once.
        engine.record_usage("outage-raw", "resume_upload", "refused-once")
        self.assertEqual(engine.wait_for_usage("refused-once").balance_after, 97)


class Backlogged(unittest.TestCase):
    """Back-pressure: an engine whose backlog limit is 2 events, with no worker to apply them until the test starts one."""

    live: LiveEngine
    workers: Optional[LiveEngine] = None

    @classmethod
    def setUpClass(cls) -> None:
        cls.live = LiveEngine(roles="api", env={"TOKENS_USAGE_MAX_BACKLOG": "2"}).start()
        cls.live.client().create_account("backlog-py", plan="monthly_pro")

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.workers is not None:
            cls.workers.close()
        cls.live.close()

    def test_a_full_backlog_answers_429_with_retry_after_and_the_client_waits_that_long_then_sends_the_same_use_again(self) -> None:
        raw = self.live.raw_client()
        numbers = itertools.count()
        last_key = ""

        def fill() -> Optional[TokenEngineError]:
            nonlocal last_key
            last_key = f"fill-{next(numbers)}"
            try:
                raw.record_usage("backlog-py", "resume_upload", last_key)
            except TokenEngineError as error:
                if error.code == "backlogged":
                    return error
                raise
            return None

        # The engine re-reads its backlog once a second: uses are accepted until it sees more than 2 waiting.
        full = wait_for(fill, "the engine to refuse with 429 backlogged", timeout=15, interval=0.1)
        accepted_before = int(last_key.split("-")[1])
        self.assertGreater(accepted_before, 2)
        self.assertEqual((full.status, full.retry_after, full.attempts), (429, 5.0, 1))
        self.assertGreater(full.details["waiting"], full.details["limit"])
        with self.assertRaises(TokenEngineError) as missing:
            raw.usage_status(last_key)
        self.assertEqual(missing.exception.code, "usage_not_found")  # nothing of the refused request was queued

        # A Retry-After past the caller's budget is not waited for: raised at once.
        hurried = self.live.client(retry=RetryPolicy(max_attempts=4, max_elapsed=2.0))
        started = time.monotonic()
        with self.assertRaises(TokenEngineError) as impatient:
            hurried.record_usage("backlog-py", "resume_upload", "in-a-hurry")
        self.assertEqual((impatient.exception.code, impatient.exception.attempts), ("backlogged", 1))
        self.assertLess(time.monotonic() - started, 1.0)

        # A patient caller waits what the engine asks; meanwhile a worker starts and drains the backlog.
        refusals: List[RetryEvent] = []

        def start_a_worker(event: RetryEvent) -> None:
            refusals.append(event)
            if type(self).workers is None:
                workers = type(self).workers = self.live.also("workers")
                threading.Thread(target=workers.start, daemon=True).start()

        patient = self.live.client(on_retry=start_a_worker)
        started = time.monotonic()
        accepted = patient.record_usage("backlog-py", "resume_upload", "after-the-backlog")
        waited = time.monotonic() - started
        self.assertEqual(accepted.idempotency_key, "after-the-backlog")
        self.assertTrue(refusals)
        self.assertTrue(all(r.error.code == "backlogged" and r.error.retry_after == 5.0 and 5.0 <= r.delay <= 5.5 for r in refusals))
        self.assertGreaterEqual(waited, 5.0 * len(refusals))

        # Each use accepted is applied once: those queued before the refusals, and the one sent again.
        self.assertEqual(patient.wait_for_usage("after-the-backlog", timeout=15).status, "applied")
        for n in range(accepted_before):
            self.assertEqual(patient.wait_for_usage(f"fill-{n}", timeout=15).status, "applied")
        account = patient.account("backlog-py")
        self.assertEqual(account.used_this_period, 3 * (accepted_before + 1))


class Silent:
    """A port that accepts connections and never answers: a request that may have reached the engine."""

    def __init__(self) -> None:
        self.connections = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._held: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


class Unreachable(unittest.TestCase):
    QUICK = RetryPolicy(max_attempts=3, max_elapsed=10.0, base_delay=0.01, max_delay=0.05)

    def test_a_refused_connection_is_retried_for_every_call_then_raised_as_connection_failed(self) -> None:
        engine = TokenEngine(f"http://127.0.0.1:{free_port()}", "some-key", retry=self.QUICK)
        for call in (lambda: engine.account("ada"), lambda: engine.check("ada", "resume_upload", reserve=True)):
            with self.assertRaises(TokenEngineConnectionError) as failed:
                call()
            e = failed.exception
            self.assertEqual((e.code, e.status, e.sent, e.attempts), ("connection_failed", None, False, 3))
            self.assertIn("cannot reach the engine", e.message)

    def test_a_request_that_may_have_arrived_is_sent_again_only_if_repeating_it_is_safe(self) -> None:
        silent = Silent()
        try:
            engine = TokenEngine(silent.url, "some-key", timeout=0.3, retry=self.QUICK)
            with self.assertRaises(TokenEngineConnectionError) as read:
                engine.record_usage("ada", "resume_upload", "use-1")
            self.assertEqual((read.exception.sent, read.exception.attempts), (True, 3))
            self.assertEqual(silent.connections, 3)
            # A reservation sent twice could hold the tokens twice: it is sent once.
            with self.assertRaises(TokenEngineConnectionError) as reserve:
                engine.check("ada", "resume_upload", reserve=True)
            self.assertEqual(reserve.exception.attempts, 1)
            self.assertEqual(silent.connections, 4)
        finally:
            silent.close()

    def test_the_budget_bounds_the_time_spent_retrying(self) -> None:
        engine = TokenEngine(f"http://127.0.0.1:{free_port()}", "some-key", retry=RetryPolicy(max_attempts=100, max_elapsed=0.5, base_delay=0.1, max_delay=0.2))
        started = time.monotonic()
        with self.assertRaises(TokenEngineConnectionError) as failed:
            engine.account("ada")
        self.assertLess(time.monotonic() - started, 0.5)
        self.assertLess(failed.exception.attempts, 100)


if __name__ == "__main__":
    unittest.main()
