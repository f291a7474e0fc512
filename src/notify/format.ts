// Notification events and their Slack-compatible rendering ({ text, blocks }). `text` is
// the fallback every Slack-compatible receiver (Mattermost, Rocket.Chat, Teams' Slack
// endpoint) shows; `blocks` adds layout where supported. Pure.

export type NotificationEvent =
  | {
      readonly kind: 'nodeReplaced';
      readonly cluster: string;
      readonly instanceId: string;
      readonly role?: string;
      readonly replacementId?: string;
      readonly reason: string;
    }
  | { readonly kind: 'remediationHeld'; readonly cluster: string; readonly rule: string; readonly reason: string; readonly message: string }
  | {
      readonly kind: 'quorumAtRisk';
      readonly cluster: string;
      readonly raft?: 'etcd' | 'swarm';
      readonly margin?: number;
      readonly message: string;
    }
  | { readonly kind: 'specInvalid'; readonly cluster: string; readonly message: string };

export interface SlackMessage {
  readonly text: string;
  readonly blocks?: readonly unknown[];
}

const ICON: Record<NotificationEvent['kind'], string> = {
  nodeReplaced: ':recycle:',
  remediationHeld: ':warning:',
  quorumAtRisk: ':rotating_light:',
  specInvalid: ':x:',
};

export function formatNotification(e: NotificationEvent): SlackMessage {
  const text = `${ICON[e.kind]} ${headline(e)}`;
  const detail = detailOf(e);
  return {
    text: detail ? `${text}\n${detail}` : text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escape(headline(e))}*${detail ? `\n${escape(detail)}` : ''}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `swarmkeeper · cluster \`${escape(e.cluster)}\`` }] },
    ],
  };
}

/** Events that mean the same thing share a key; the notifier sends one per window. */
export function dedupeKeyOf(e: NotificationEvent): string {
  switch (e.kind) {
    case 'nodeReplaced':
      return `${e.kind}/${e.cluster}/${e.instanceId}`;
    case 'remediationHeld':
      return `${e.kind}/${e.cluster}/${e.rule}/${e.reason}`;
    case 'quorumAtRisk':
      return `${e.kind}/${e.cluster}/${e.raft ?? 'any'}`;
    case 'specInvalid':
      return `${e.kind}/${e.cluster}/${e.message}`;
  }
}

function headline(e: NotificationEvent): string {
  switch (e.kind) {
    case 'nodeReplaced':
      return `${e.cluster}: replaced ${e.role ? `${e.role} ` : ''}node ${e.instanceId}${e.replacementId ? ` with ${e.replacementId}` : ''}`;
    case 'remediationHeld':
      return `${e.cluster}: remediation held back (${e.reason})`;
    case 'quorumAtRisk':
      return `${e.cluster}: ${e.raft ?? 'etcd/swarm'} quorum at risk${e.margin !== undefined ? ` (margin ${e.margin})` : ''}`;
    case 'specInvalid':
      return `${e.cluster}: spec refused, the last good spec stays in force`;
  }
}

function detailOf(e: NotificationEvent): string {
  switch (e.kind) {
    case 'nodeReplaced':
      return e.reason;
    case 'remediationHeld':
      return `${e.message} [${e.rule}]`;
    case 'quorumAtRisk':
    case 'specInvalid':
      return e.message;
  }
}

/** Slack's mrkdwn needs &, < and > escaped. */
function escape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
