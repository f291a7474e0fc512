import { isSwarmkeeperError, type ErrorCode } from '../../src/errors.ts';

/** The SwarmkeeperError code a call ends with, or 'resolved'; any other error is rethrown. */
export async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'resolved'> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    if (isSwarmkeeperError(err)) return err.code;
    throw err;
  }
}
