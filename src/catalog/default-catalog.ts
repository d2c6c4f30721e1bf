/**
 * The default catalog, transcribed from the seed document (shared/seed/token-valuation-system.md):
 * every page of its JSON blocks and every key of its TOKEN_COSTS, and the four plans.
 */
export const seedPageCosts: Record<string, number> = {
  // FREE
  '00_Home.py': 0,
  '00_Landing_old.py': 0,
  '00_Welcome_Page.py': 0,
  '01_Dashboard.py': 0,
  '01_Registration.py': 0,
  '02_Payment.py': 0,
  '03_Pricing.py': 0,
  '98_Account_Verification.py': 0,
  '99_Admin_Debug.py': 0,
  // BASIC
  '02_Profile.py': 1,
  '02_Profile_Enhanced.py': 2,
  '03_Profile_Setup.py': 1,
  '09_Application_Tracker.py': 2,
  '17_Resume_History_and_Precis.py': 2,
  '21_Job_Title_Glossary.py': 1,
  '97_Email_Viewer.py': 1,
  // STANDARD
  '01_Resume_Upload_and_Analysis.py': 3,
  '04_Resume_Upload.py': 3,
  '05_Resume_Upload.py': 3,
  '06_Job_Match.py': 4,
  '07_JD_Upload.py': 3,
  '08_Resume_Tuner.py': 4,
  '11_Resume_Diff.py': 3,
  '14_Parsing_Test_Harness.py': 3,
  '16_Resume_Feedback.py': 4,
  '19_Job_Opportunities.py': 4,
  '20_Job_Description_Upload.py': 3,
  '23_Tailored_CV_Generator.py': 5,
  // ADVANCED
  '05_Resume_Upload_Enhanced_AI.py': 7,
  '06_Job_Match_Enhanced_AI.py': 8,
  '06_Job_Match_INTEGRATED.py': 9,
  '07_AI_Interview_Coach.py': 8,
  '07_AI_Interview_Coach_INTEGRATED.py': 10,
  '08_Career_Intelligence.py': 9,
  '08_Career_Intelligence_INTEGRATED.py': 10,
  '10_AI_Insights.py': 7,
  '12_Interview_Coach.py': 8,
  '13_Career_Intelligence.py': 9,
  '15_AI_Enrichment.py': 8,
  '24_Geo_Career_Finder.py': 7,
  'AI_Career_Intelligence.py': 9,
  'AI_Career_Intelligence_Enhanced.py': 10,
  'Geographic_Career_Intelligence.py': 8,
  'Interview_Coach.py': 8,
  'Job_Title_Intelligence.py': 7,
  // PREMIUM
  '10_Advanced_Career_Tools.py': 15,
  'Enhanced_Sidebar_Demo.py': 12,
  'Enhanced_User_Demo.py': 12,
  'landing_enhanced.py': 11,
  'Admin_AI_Integration_Testing.py': 18,
  'Admin_AI_Integration_Verification.py': 20,
  // ENTERPRISE
  '09_Mentorship_Hub.py': 25,
  '22_Mentorship_Marketplace.py': 30,
};

export const seedOperationCosts: Record<string, number> = {
  navigation: 0,
  dashboard: 0,
  profile_basic: 1,
  resume_upload: 3,
  resume_analysis: 3,
  job_search_basic: 4,
  cv_generator: 5,
  ai_interview_coach: 8,
  enhanced_job_match: 8,
  career_intelligence: 9,
  ai_insights: 7,
  personal_branding: 15,
  advanced_tools: 15,
  admin_ai_integration: 18,
  mentorship_session: 25,
  mentorship_marketplace: 30,
  custom_ai_training: 100,
};

export interface DefaultPlan {
  id: string;
  name: string;
  monthlyTokens: number;
  priceCents: number;
  billingInterval: 'month' | 'year';
  rank: number;
}

// Prices are not in the seed; these are placeholders an admin edits (PUT /admin/api/plans/{id}).
export const defaultPlans: DefaultPlan[] = [
  { id: 'free_starter', name: 'Free Starter', monthlyTokens: 10, priceCents: 0, billingInterval: 'month', rank: 0 },
  { id: 'monthly_pro', name: 'Monthly Pro', monthlyTokens: 100, priceCents: 1900, billingInterval: 'month', rank: 1 },
  { id: 'annual_pro', name: 'Annual Pro', monthlyTokens: 250, priceCents: 19900, billingInterval: 'year', rank: 2 },
  { id: 'enterprise_pro', name: 'Enterprise Pro', monthlyTokens: 1000, priceCents: 9900, billingInterval: 'month', rank: 3 },
];

/** "06_Job_Match.py" -> "Job Match", "resume_upload" -> "Resume Upload". */
export function featureDisplayName(key: string): string {
  return key
    .replace(/\.py$/, '')
    .replace(/^\d+_/, '')
    .split('_')
    .filter(Boolean)
    .map((w) => (w === w.toUpperCase() ? w : w[0]!.toUpperCase() + w.slice(1)))
    .join(' ');
}
