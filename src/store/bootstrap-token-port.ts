// The bootstrap tokens as the controller's parts use them: the executor issues one per
// launch, the bootstrap routes verify and consume it and derive the node's credential.
// EtcdBootstrapTokens (bootstrap-tokens.ts) implements all three.
import type { Role } from '../spec/schema.ts';

export interface BootstrapTokenRecord {
  readonly cluster: string;
  readonly role: Role;
  readonly clientToken: string;
  /** sha256 of the secret part, hex. */
  readonly hash: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** instance id -> when it redeemed the token (ms). */
  readonly redeemed: Readonly<Record<string, number>>;
  /**
   * How many instances the launch covers: once that many redeemed, every other request
   * fails at the record, before any provider list. Absent in records of older controllers.
   */
  readonly instances?: number;
}

export interface IssueRequest {
  readonly cluster: string;
  readonly role: Role;
  readonly clientToken: string;
  readonly ttlSeconds: number;
  /** Instances the launch covers (the step's count); without it, no fast fail once all redeemed. */
  readonly instances?: number;
}

/** What the controller's executor calls at launch. */
export interface BootstrapTokenIssuer {
  issue(req: IssueRequest): Promise<string>;
}

export type VerifyFailure = 'malformed' | 'unknown' | 'mismatch' | 'expired' | 'used';

export type VerifyResult =
  | { readonly ok: true; readonly id: string; readonly record: BootstrapTokenRecord }
  | { readonly ok: false; readonly reason: VerifyFailure };

/**
 * A node's standing credential after its exchange: it reads its own cluster's published
 * endpoints at the controller (GET /v1/bootstrap/endpoints) and nothing else. Derived,
 * not stored: HMAC(cluster key, "endpoints" NUL cluster NUL instance id).
 */
export interface NodeCredentials {
  nodeCredential(cluster: string, instanceId: string): Promise<string>;
  verifyNodeCredential(cluster: string, instanceId: string, credential: string): Promise<boolean>;
}

/** What the bootstrap route needs. */
export interface BootstrapTokenVerifier {
  /** Checks a token for one instance without using it up. */
  verify(cluster: string, token: string, instanceId: string): Promise<VerifyResult>;
  /** Records the instance's redemption; false when it had redeemed already (or a race lost). */
  consume(cluster: string, id: string, instanceId: string): Promise<boolean>;
  /** Whether `instanceId` redeemed `token` and it is still valid (the init report is allowed only then). */
  redeemedBy(cluster: string, token: string, instanceId: string): Promise<boolean>;
}
