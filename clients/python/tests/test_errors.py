"""Refusals reach the caller as TokenEngineError with the contract's code, status, message and details."""

from __future__ import annotations

import unittest
from datetime import datetime, timedelta, timezone
from typing import Callable, List

from live_engine import LiveEngine

from tokens_client import RetryEvent, TokenEngine, TokenEngineError


class Errors(unittest.TestCase):
    live: LiveEngine
    engine: TokenEngine
    retries: List[RetryEvent]

    @classmethod
    def setUpClass(cls) -> None:
        cls.live = LiveEngine().start()
        cls.retries = []
        cls.engine = cls.live.client(on_retry=cls.retries.append)
        cls.engine.create_account("errors-ada", plan="monthly_pro")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.live.close()

    def refusal(self, call: Callable[[], object]) -> TokenEngineError:
        with self.assertRaises(TokenEngineError) as caught:
            call()
        return caught.exception

    def test_an_unknown_account_is_a_404_account_not_found(self) -> None:
        e = self.refusal(lambda: self.engine.account("nobody-here"))
        self.assertEqual((e.code, e.status), ("account_not_found", 404))
        self.assertIn("nobody-here", e.message)
        self.assertEqual(str(e), f"GET /v1/accounts/nobody-here: account_not_found (HTTP 404): {e.message}")

    def test_an_unknown_feature_is_a_400_naming_it(self) -> None:
        e = self.refusal(lambda: self.engine.record_usage("errors-ada", "no_such_page.py", "bad-feature-1"))
        self.assertEqual((e.code, e.status, e.details), ("unknown_feature", 400, {"features": ["no_such_page.py"]}))

    def test_malformed_input_is_a_400_validation_failed_naming_the_field(self) -> None:
        e = self.refusal(lambda: self.engine.record_usage("errors-ada", "resume_upload", ""))
        self.assertEqual((e.code, e.status), ("validation_failed", 400))
        self.assertIn("idempotencyKey", [d["path"] for d in e.details])
        bad_user = self.refusal(lambda: self.engine.create_account("not a user id"))
        self.assertEqual((bad_user.code, bad_user.status), ("validation_failed", 400))
        self.assertIn("userId", bad_user.message)

    def test_a_key_reused_for_another_use_is_a_409_idempotency_conflict_and_the_same_use_again_is_accepted(self) -> None:
        self.engine.record_usage("errors-ada", "resume_upload", "reused-key")
        self.assertEqual(self.engine.record_usage("errors-ada", "resume_upload", "reused-key").status, "queued")
        e = self.refusal(lambda: self.engine.record_usage("errors-ada", "06_Job_Match.py", "reused-key"))
        self.assertEqual((e.code, e.status), ("idempotency_conflict", 409))
        self.assertEqual(self.engine.wait_for_usage("reused-key").cost, 3)

    def test_a_wrong_key_is_a_401_unauthorized(self) -> None:
        stranger = TokenEngine(self.live.base_url, "not-a-key")
        e = self.refusal(lambda: stranger.account("errors-ada"))
        self.assertEqual((e.code, e.status), ("unauthorized", 401))

    def test_reservations_unknown_or_already_used_are_404_and_409(self) -> None:
        e = self.refusal(lambda: self.engine.release("00000000-0000-4000-8000-000000000000"))
        self.assertEqual((e.code, e.status), ("reservation_not_found", 404))
        hold = self.engine.check("errors-ada", "resume_upload", reserve=True)
        assert hold.reservation_id is not None
        self.assertEqual(self.engine.release(hold.reservation_id).status, "released")
        self.assertEqual(self.engine.release(hold.reservation_id).status, "released")  # twice is fine
        used = self.engine.check("errors-ada", "resume_upload", reserve=True, ttl_seconds=60)
        assert used.reservation_id is not None and used.expires_at is not None
        self.assertAlmostEqual((used.expires_at - datetime.now(timezone.utc)).total_seconds(), 60, delta=30)
        self.engine.record_usage("errors-ada", "resume_upload", "spends-hold", reservation_id=used.reservation_id)
        self.engine.wait_for_usage("spends-hold")
        closed = self.refusal(lambda: self.engine.release(used.reservation_id or ""))
        self.assertEqual((closed.code, closed.status, closed.details), ("reservation_closed", 409, {"status": "used"}))

    def test_an_unknown_usage_key_is_a_404_usage_not_found(self) -> None:
        e = self.refusal(lambda: self.engine.usage_status("never/sent?#key"))
        self.assertEqual((e.code, e.status), ("usage_not_found", 404))
        self.assertIn("never/sent?#key", e.message)  # the key reached the engine whole

    def test_a_use_in_the_future_is_refused_and_a_naive_time_is_refused_before_sending(self) -> None:
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        e = self.refusal(lambda: self.engine.record_usage("errors-ada", "resume_upload", "from-the-future", occurred_at=later))
        self.assertEqual(e.status, 400)
        with self.assertRaisesRegex(ValueError, "aware datetime"):
            self.engine.record_usage("errors-ada", "resume_upload", "naive", occurred_at=datetime.now())

    def test_refusals_that_do_not_pass_with_time_are_raised_at_once(self) -> None:
        self.retries.clear()
        e = self.refusal(lambda: self.engine.account("still-nobody"))
        self.assertEqual((e.attempts, self.retries), (1, []))


if __name__ == "__main__":
    unittest.main()
