"""``engine.gate``: a page is charged for what it did, and only if it did it."""

from __future__ import annotations

import unittest

from live_engine import LiveEngine

from tokens_client import TokenEngine, TokenEngineError


class PageFailed(Exception):
    pass


class Gate(unittest.TestCase):
    live: LiveEngine
    engine: TokenEngine

    @classmethod
    def setUpClass(cls) -> None:
        cls.live = LiveEngine().start()
        cls.engine = cls.live.client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.live.close()

    def open(self, user_id: str, plan: str = "free_starter") -> None:
        self.engine.create_account(user_id, plan=plan)

    def assertNotRecorded(self, key: str) -> None:
        with self.assertRaises(TokenEngineError) as missing:
            self.engine.usage_status(key)
        self.assertEqual((missing.exception.code, missing.exception.status), ("usage_not_found", 404))

    def test_a_page_that_succeeds_is_charged_once_through_its_hold(self) -> None:
        self.open("gate-ok")
        with self.engine.gate("gate-ok", "resume_upload", idempotency_key="upload-1", metadata={"page": "04_Resume_Upload.py"}) as allowed:
            self.assertTrue(allowed)
            self.assertIsNotNone(allowed.reservation_id)
            self.assertEqual((allowed.cost, allowed.balance), (3, 7))
            during = self.engine.account("gate-ok")
            self.assertEqual((during.balance, during.held), (7, 3))  # held while the page runs
            allowed.metadata["pages"] = 2
        assert allowed.usage is not None
        self.assertEqual(allowed.usage.idempotency_key, "upload-1")
        settled = self.engine.wait_for_usage("upload-1")
        self.assertEqual((settled.status, settled.cost, settled.balance_after), ("applied", 3, 7))
        after = self.engine.account("gate-ok")
        self.assertEqual((after.balance, after.held, after.used_this_period), (7, 0, 3))
        use = self.engine.ledger("gate-ok").entries[0]
        self.assertEqual((use.kind, use.reservation_id, use.idempotency_key), ("use", allowed.reservation_id, "upload-1"))
        self.assertEqual(use.raw["metadata"], {"page": "04_Resume_Upload.py", "pages": 2})

    def test_a_page_that_raises_releases_the_hold_records_nothing_and_the_exception_goes_on(self) -> None:
        self.open("gate-raises")
        with self.assertRaises(PageFailed):
            with self.engine.gate("gate-raises", "06_Job_Match.py", idempotency_key="match-fails") as allowed:
                self.assertTrue(allowed)
                self.assertEqual(self.engine.account("gate-raises").held, 4)
                raise PageFailed("the matching service is down")
        account = self.engine.account("gate-raises")
        self.assertEqual((account.balance, account.held, account.used_this_period), (10, 0, 0))
        self.assertNotRecorded("match-fails")
        self.assertEqual([e.kind for e in self.engine.ledger("gate-raises").entries][:2], ["release", "hold"])

    def test_a_page_that_is_not_allowed_is_told_why_and_nothing_is_held_or_recorded(self) -> None:
        self.open("gate-short")
        with self.engine.gate("gate-short", "custom_ai_training", idempotency_key="training-1") as allowed:
            self.assertFalse(allowed)
            self.assertEqual((allowed.reason, allowed.cost, allowed.balance, allowed.reservation_id), ("insufficient_tokens", 100, 10, None))
            self.assertEqual(allowed.message, "Not enough tokens: custom_ai_training costs 100 and 10 remain. Upgrade or wait for renewal.")
        self.assertNotRecorded("training-1")
        self.assertEqual(self.engine.account("gate-short").held, 0)

    def test_a_free_page_holds_nothing_and_its_use_is_still_recorded(self) -> None:
        self.open("gate-free")
        with self.engine.gate("gate-free", "00_Home.py", idempotency_key="home-1") as allowed:
            self.assertTrue(allowed)
            self.assertEqual((allowed.cost, allowed.reservation_id), (0, None))
            self.assertEqual(self.engine.account("gate-free").held, 0)
        settled = self.engine.wait_for_usage("home-1")
        self.assertEqual((settled.status, settled.cost, settled.balance_after), ("applied", 0, 10))

    def test_a_page_run_again_under_the_same_key_is_not_charged_again(self) -> None:
        self.open("gate-rerun")
        for _ in range(2):
            with self.engine.gate("gate-rerun", "resume_upload", idempotency_key="rerun-upload") as allowed:
                self.assertTrue(allowed)
        self.assertTrue(allowed.replayed)
        self.engine.wait_for_usage("rerun-upload")
        # Even once the balance could not pay for it again, the use already paid for still runs.
        for n in range(2):
            with self.engine.gate("gate-rerun", "resume_upload", idempotency_key=f"more-{n}"):
                pass
        self.engine.wait_for_usage("more-1")
        with self.engine.gate("gate-rerun", "resume_upload", idempotency_key="rerun-upload") as again:
            self.assertTrue(again)
            self.assertTrue(again.replayed)
            self.assertEqual((again.cost, again.balance, again.reservation_id), (3, 1, None))
        account = self.engine.account("gate-rerun")
        self.assertEqual((account.balance, account.held, account.used_this_period), (1, 0, 9))

    def test_two_runs_of_one_use_at_once_are_charged_once(self) -> None:
        self.open("gate-twice")
        with self.engine.gate("gate-twice", "resume_upload", idempotency_key="double-click") as first:
            with self.engine.gate("gate-twice", "resume_upload", idempotency_key="double-click") as second:
                self.assertNotEqual(first.reservation_id, second.reservation_id)
                self.assertEqual(self.engine.account("gate-twice").held, 6)
        self.assertFalse(second.replayed)
        self.assertTrue(first.replayed)  # the second run recorded it first: the first gave its hold back
        self.engine.wait_for_usage("double-click")
        account = self.engine.account("gate-twice")
        self.assertEqual((account.balance, account.held, account.used_this_period), (7, 0, 3))

    def test_a_key_that_names_another_use_is_refused_before_the_page_runs(self) -> None:
        self.open("gate-conflict")
        with self.engine.gate("gate-conflict", "resume_upload", idempotency_key="shared-key"):
            pass
        self.engine.wait_for_usage("shared-key")
        ran = False
        with self.assertRaises(TokenEngineError) as refused:
            with self.engine.gate("gate-conflict", "06_Job_Match.py", idempotency_key="shared-key"):
                ran = True
        self.assertFalse(ran)
        self.assertEqual(refused.exception.code, "idempotency_conflict")
        self.assertEqual(self.engine.account("gate-conflict").held, 0)  # nothing was reserved for it

    def test_a_page_that_cancels_gives_the_hold_back_and_is_not_charged(self) -> None:
        self.open("gate-cancel")
        with self.engine.gate("gate-cancel", "resume_upload", idempotency_key="cancelled-upload") as allowed:
            self.assertEqual(self.engine.account("gate-cancel").held, 3)
            allowed.cancel()
            self.assertEqual(self.engine.account("gate-cancel").held, 0)
        self.assertTrue(allowed.cancelled)
        self.assertNotRecorded("cancelled-upload")
        account = self.engine.account("gate-cancel")
        self.assertEqual((account.balance, account.held), (10, 0))


if __name__ == "__main__":
    unittest.main()
