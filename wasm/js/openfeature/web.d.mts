// TypeScript declarations of wasm/js/openfeature/web.mjs: structurally an
// @openfeature/web-sdk Provider.
import type { Client, ClientOptions, EvaluationContext } from "../index.mjs";

export interface ResolutionDetails<T> {
  value: T;
  variant?: string;
  reason?: string;
  /** OpenFeature's ErrorCode: a string enum, whose type only the SDK declares (so it is left open here). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  errorCode?: any;
  errorMessage?: string;
  flagMetadata: Record<string, string | number | boolean>;
}
/** An event handler; the SDK's event details are its own type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventHandler = (details?: any) => void;
export interface ProviderEventEmitter {
  addHandler(type: string, handler: EventHandler): void;
  removeHandler(type: string, handler: EventHandler): void;
  removeAllHandlers(type?: string): void;
  getHandlers(type: string): Array<EventHandler>;
  emit(type: string, details?: unknown): void;
  setLogger(logger: unknown): this;
}
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What both providers have. */
export interface EdgeflagProvider {
  readonly metadata: { name: "edgeflag" };
  readonly hooks: [];
  readonly events: ProviderEventEmitter;
  readonly client: Client;
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails?: Record<string, unknown>): void;
  onClose(): Promise<void>;
}

export declare class EdgeflagWebProvider implements EdgeflagProvider {
  constructor(clientOrOptions: Client | ClientOptions);
  readonly metadata: { name: "edgeflag" };
  readonly runsOn: "client";
  readonly hooks: [];
  readonly events: ProviderEventEmitter;
  readonly client: Client;
  /** Absent when the client already evaluates embedded values (ready at once). */
  initialize?: (context?: EvaluationContext) => Promise<void>;
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): ResolutionDetails<boolean>;
  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): ResolutionDetails<string>;
  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): ResolutionDetails<number>;
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): ResolutionDetails<T>;
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails?: Record<string, unknown>): void;
  onClose(): Promise<void>;
}
