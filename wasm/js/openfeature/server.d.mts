// TypeScript declarations of wasm/js/openfeature/server.mjs: structurally
// an @openfeature/server-sdk Provider.
import type { Client, ClientOptions, EvaluationContext } from "../index.mjs";
import type { EdgeflagProvider, JsonValue, ProviderEventEmitter, ResolutionDetails } from "./web.mjs";

export declare class EdgeflagServerProvider implements EdgeflagProvider {
  constructor(clientOrOptions: Client | ClientOptions);
  readonly metadata: { name: "edgeflag" };
  readonly runsOn: "server";
  readonly hooks: [];
  readonly events: ProviderEventEmitter;
  readonly client: Client;
  initialize(): Promise<void>;
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>>;
  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>>;
  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>>;
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>>;
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails?: Record<string, unknown>): void;
  onClose(): Promise<void>;
}
