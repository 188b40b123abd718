-- Policy inputs are judged by when they became true (`as_of`), not by when they arrived
-- (`recorded_at`, now written by the service from its clock): see the billing README.
ALTER TABLE onboarding_records ADD COLUMN as_of timestamptz;
UPDATE onboarding_records
   SET as_of = (completed_on::timestamp AT TIME ZONE 'Europe/Ljubljana')
 WHERE as_of IS NULL;
ALTER TABLE onboarding_records ALTER COLUMN as_of SET NOT NULL;
CREATE INDEX onboarding_records_org_as_of ON onboarding_records (org_id, as_of);

DROP INDEX standing_history_org;
CREATE INDEX standing_history_org_as_of ON standing_history (org_id, as_of DESC, id DESC);

CREATE INDEX arrangements_org_recorded ON arrangements (org_id, recorded_at);
