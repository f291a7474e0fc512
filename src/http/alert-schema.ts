// The Alertmanager webhook payload (version "4"), as TypeBox: one declaration gives the
// JSON Schema fastify validates the body against and the TypeScript type the handler
// reads. Unknown top-level fields are allowed (Alertmanager adds fields over time); the
// fields we act on are strictly typed and bounded, so hostile input cannot grow memory
// or smuggle non-strings into labels.
// Reference: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
import { Type, type Static } from '@sinclair/typebox';

const LabelMap = Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ maxLength: 2048 }), { maxProperties: 64 });
const Status = Type.Union([Type.Literal('firing'), Type.Literal('resolved')]);

export const AlertSchema = Type.Object({
  status: Status,
  labels: LabelMap,
  annotations: Type.Optional(LabelMap),
  startsAt: Type.Optional(Type.String({ maxLength: 64 })),
  endsAt: Type.Optional(Type.String({ maxLength: 64 })),
  generatorURL: Type.Optional(Type.String({ maxLength: 4096 })),
  fingerprint: Type.Optional(Type.String({ maxLength: 64 })),
});

export const AlertmanagerPayloadSchema = Type.Object({
  version: Type.Literal('4'),
  groupKey: Type.Optional(Type.String({ maxLength: 4096 })),
  truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
  status: Status,
  receiver: Type.Optional(Type.String({ maxLength: 256 })),
  groupLabels: Type.Optional(LabelMap),
  commonLabels: Type.Optional(LabelMap),
  commonAnnotations: Type.Optional(LabelMap),
  externalURL: Type.Optional(Type.String({ maxLength: 4096 })),
  alerts: Type.Array(AlertSchema, { minItems: 1, maxItems: 1000 }),
});

export type AlertmanagerAlert = Static<typeof AlertSchema>;
export type AlertmanagerPayload = Static<typeof AlertmanagerPayloadSchema>;
