"""The source document's Free Starter story, told through the Python client against a real engine."""

from __future__ import annotations

import unittest
from datetime import datetime, timezone

from live_engine import LiveEngine

from tokens_client import TokenEngine


class FreeStarterStory(unittest.TestCase):
    live: LiveEngine
    engine: TokenEngine

    @classmethod
    def setUpClass(cls) -> None:
        cls.live = LiveEngine().start()
        cls.engine = cls.live.client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.live.close()

    def test_three_resume_analyses_are_applied_and_the_job_match_is_refused_leaving_one_token(self) -> None:
        engine = self.engine
        opened = engine.create_account("starter-py")
        self.assertEqual((opened.plan.id, opened.plan.monthly_tokens, opened.balance), ("free_starter", 10, 10))

        # The seed's own integration sketch, log_token_usage(user_id, page_name, token_cost, timestamp),
        # on the client: the engine prices the page itself, so token_cost is not sent.
        def log_token_usage(user_id: str, page_name: str, token_cost: int, timestamp: datetime, use_id: str) -> None:
            engine.record_usage(user_id, page_name, idempotency_key=use_id, occurred_at=timestamp)

        for n in (1, 2, 3):
            log_token_usage("starter-py", "resume_analysis", 3, datetime.now(timezone.utc), f"analysis-{n}")
            settled = engine.wait_for_usage(f"analysis-{n}")
            self.assertEqual((settled.status, settled.cost, settled.balance_after), ("applied", 3, 10 - 3 * n))

        check = engine.check("starter-py", "06_Job_Match.py")
        self.assertFalse(check)
        self.assertEqual((check.reason, check.cost, check.balance), ("insufficient_tokens", 4, 1))
        engine.record_usage("starter-py", "06_Job_Match.py", "match-1")
        refused = engine.wait_for_usage("match-1")
        self.assertEqual((refused.status, refused.reason, refused.cost, refused.balance_after), ("rejected", "insufficient_tokens", 4, 1))

        account = engine.account("starter-py")
        self.assertEqual((account.balance, account.held, account.used_this_period, account.allocated_this_period, account.percent_used), (1, 0, 9, 10, 90))
        assert account.warning is not None
        self.assertEqual((account.warning.level, account.warning.message), (90, "⚠️ You have 10% tokens remaining"))
        self.assertLess(account.period.start, account.period.end)

        ledger = engine.ledger("starter-py")
        self.assertEqual([(e.kind, e.amount, e.balance_after) for e in ledger.entries], [("use", -3, 1), ("use", -3, 4), ("use", -3, 7), ("grant", 10, 10)])
        self.assertEqual([e.idempotency_key for e in ledger.entries[:3]], ["analysis-3", "analysis-2", "analysis-1"])

        dashboard = engine.dashboard("starter-py")
        self.assertEqual((dashboard.used, dashboard.allocated, dashboard.percent_used, dashboard.balance), (9, 10, 90, 1))
        self.assertEqual([(f.feature, f.uses, f.tokens) for f in dashboard.most_used_features], [("resume_analysis", 3, 9)])
        self.assertGreater(dashboard.days_until_renewal, 0)

    def test_the_same_story_through_gated_pages_runs_three_analyses_and_never_runs_the_job_match(self) -> None:
        engine = self.engine
        engine.create_account("starter-gated")
        ran = []
        for n in (1, 2, 3):
            with engine.gate("starter-gated", "resume_analysis", idempotency_key=f"gated-analysis-{n}") as allowed:
                self.assertTrue(allowed)
                self.assertEqual((allowed.cost, allowed.balance), (3, 10 - 3 * n))
                ran.append(n)
            self.assertEqual(engine.wait_for_usage(f"gated-analysis-{n}").status, "applied")
        with engine.gate("starter-gated", "06_Job_Match.py", idempotency_key="gated-match-1") as allowed:
            self.assertFalse(allowed)
            self.assertEqual((allowed.reason, allowed.cost, allowed.balance), ("insufficient_tokens", 4, 1))
            self.assertIn("costs 4", allowed.message)
        self.assertEqual(ran, [1, 2, 3])
        account = engine.account("starter-gated")
        self.assertEqual((account.balance, account.held, account.used_this_period), (1, 0, 9))
        with self.assertRaises(Exception) as unknown:
            engine.usage_status("gated-match-1")
        self.assertEqual(getattr(unknown.exception, "code", None), "usage_not_found")

    def test_the_catalog_lists_the_seed_pages_with_tiers_and_the_four_plans(self) -> None:
        features = {f.key: f for f in self.engine.features()}
        self.assertEqual((features["06_Job_Match.py"].cost, features["06_Job_Match.py"].tier), (4, "STANDARD"))
        self.assertEqual((features["custom_ai_training"].cost, features["custom_ai_training"].tier), (100, "MEGA"))
        self.assertEqual(features["00_Home.py"].tier, "FREE")
        self.assertEqual([(p.id, p.monthly_tokens) for p in self.engine.plans()], [("free_starter", 10), ("monthly_pro", 100), ("annual_pro", 250), ("enterprise_pro", 1000)])


if __name__ == "__main__":
    unittest.main()
