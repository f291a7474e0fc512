// Whether a node's dockerd answers its API yet: the /_ping probe, and the wait for a
// dockerd just spawned, which gives up when the process ends before answering or when
// its deadline passes (then the dockerd is stopped, with its containerd), or stops
// waiting, leaving the dockerd alone, when its signal is aborted.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SwarmkeeperError } from '../errors.ts';
import { stopByPidFile, terminate } from '../process/process-control.ts';

export interface AnswerWait {
  readonly socketPath: string;
  readonly logFile: string;
  readonly execRoot: string;
  readonly instanceId: string;
  /** Whether the dockerd waited for still runs. */
  readonly running: () => boolean;
  readonly pid: number;
  readonly timeoutMs: number;
  /** Stops the wait (not the dockerd): its caller has gone away. */
  readonly signal?: AbortSignal;
}

/** Polls /_ping every 200 ms until the dockerd answers (see the header for how it fails). */
export async function waitUntilAnswering(w: AnswerWait): Promise<void> {
  const deadline = Date.now() + w.timeoutMs;
  while (!(await pingSocket(w.socketPath))) {
    w.signal?.throwIfAborted();
    if (!w.running()) {
      throw new SwarmkeeperError('Unavailable', `dockerd for ${w.instanceId} exited before answering: ${logTail(w.logFile)}`);
    }
    if (Date.now() > deadline) {
      await terminate(w.pid, { timeoutMs: 10_000 });
      await stopContainerdOf(w.execRoot);
      throw new SwarmkeeperError('Unavailable', `dockerd for ${w.instanceId} did not answer /_ping in time: ${logTail(w.logFile)}`);
    }
    await sleep(200, undefined, w.signal ? { signal: w.signal } : {});
  }
}

/** dockerd's own containerd normally dies with it (parent-death signal); make sure. */
export async function stopContainerdOf(execRoot: string): Promise<void> {
  // No grace: its dockerd is gone. An exiting containerd (parent-death signal) is waited out.
  await stopByPidFile(`${execRoot}/containerd/containerd.pid`, {
    isOurs: (cmdline) => cmdline.includes(execRoot),
    timeoutMs: 0,
  });
}

/** Whether the dockerd listening on `socketPath` answers /_ping (2 s at most). */
export function pingSocket(socketPath: string): Promise<boolean> {
  return new Promise((res) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 2_000 }, (resp) => {
      resp.resume();
      res(resp.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(false));
    req.end();
  });
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return `last log lines of ${file}:\n${lines.slice(-8).join('\n')}`;
  } catch {
    return `no log at ${file}`;
  }
}
