// Verified principals for tests that need a caller without verifying a token.
import type { AwsIamPrincipal } from '../../shared/callers/callerVerifier.js';

/** An assumed-role session of `payments-app` in account 111122223333, as the aws-iam verifier types it. */
export const PAYMENTS_ROLE_SESSION: AwsIamPrincipal = {
  kind: 'aws-iam',
  subject: 'arn:aws:sts::111122223333:assumed-role/payments-app/i-0abc',
  partition: 'aws',
  account: '111122223333',
  type: 'role',
  name: 'payments-app',
  sessionName: 'i-0abc',
  userId: 'AROAEXAMPLECALLER0001',
};
